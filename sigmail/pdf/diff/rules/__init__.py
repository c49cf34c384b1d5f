"""One module per area of the document; each rule is a function from a
:class:`~sigmail.pdf.diff.state.RevisionDiff` to the changes it explains (added with
``diff.add``). :func:`sigmail.pdf.diff.analysis.explain_revision` runs them in order,
cheapest first; whatever they leave is judged by :mod:`.residual`."""
