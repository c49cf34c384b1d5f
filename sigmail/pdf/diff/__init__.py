"""What changed after each signature, classified and explained (C2: "no disallowed later
change").

Every revision after the first signed one is compared with the revision before it, object by
object, from the cross-reference data: objects the revision wrote (added, rewritten,
freed), objects whose bytes sit in the revision but which its cross-reference section does
not list (what a reader that rebuilds a broken xref would take), and bytes after the last
``%%EOF``. Each change is explained by *what the object is* in the document (see
:mod:`sigmail.pdf.structure`) and becomes a :class:`~sigmail.verdict.model.ModificationReport`:

benign (warning ``benign_modification``)
    ``dss_added``/``dss_updated`` (LTV material), ``doc_timestamp_added``,
    ``signature_added`` (a new signature, in a new or empty signature field),
    ``signature_field_added`` (an empty signature field),
    ``form_filled`` (an empty field filled), ``annotation_added``/``annotation_modified``/
    ``annotation_removed`` (notes and comments that cover no signed content),
    ``info_updated``, ``metadata_updated``, ``catalog_updated``, ``structure_updated``,
    ``outline_updated``, ``unreferenced_objects``
suspicious (the document is ``invalid``; the reason names the change)
    ``page_content_modified`` (content, resources, fonts, pages added/removed),
    ``appearance_overridden``, ``form_field_replaced`` (a value the signer saw replaced),
    ``object_overlay`` (a visible annotation or widget over signed content; hidden objects
    swapped in; optional content changed), ``appended_without_xref``, ``trailing_data``,
    ``docmdp_violation``, ``fieldmdp_violation``, ``signature_dictionary_modified``,
    ``signature_reused`` (an earlier signature as the value of a new field),
    ``modification_unclassified`` (anything not shown to be harmless; among them
    ``action_added``: a JavaScript, Launch, Hide … action added anywhere, which can change
    what the document shows)

An object is judged by its role in the revision before (so, ultimately, in the signed one):
a benign explanation claims only new objects that revision did not refer to and earlier
objects whose every role there lies in its own area (:data:`.change.AREA`); whatever else it
reaches is judged by what it was.

A benign kind is only benign where the certification level in force allows it (DocMDP:
P1 → DSS/VRI and document timestamps; P2 → also form filling and signing; P3 → also
annotations and new fields); otherwise it becomes ``docmdp_violation``. A field locked by
FieldMDP must not change (``fieldmdp_violation``). docs/pdf.md explains why each kind is
classified as it is.
"""

from sigmail.pdf.diff.analysis import analyse_modifications

__all__ = ["analyse_modifications"]
