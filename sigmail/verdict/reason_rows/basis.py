"""The legal bases several reason rows cite (NĐ: nghị định, TT: thông tư, CT: chỉ thị,
QĐ: quyết định). A basis cited once is written in its row."""

from __future__ import annotations

NĐ130_9_1 = "NĐ 130/2018/NĐ-CP Điều 9 khoản 1"
NĐ130_9_2 = "NĐ 130/2018/NĐ-CP Điều 9 khoản 2; TT 15/2025/TT-BKHCN"
C4_BASIS = "NĐ 130/2018/NĐ-CP Điều 9 khoản 1, Điều 79; NĐ 23/2025/NĐ-CP; TT 41/2017/TT-BTTTT Điều 9"
C5_BASIS = "TT 15/2025/TT-BKHCN; NĐ 130/2018/NĐ-CP Điều 79"
NĐ30_21 = "NĐ 30/2020/NĐ-CP Điều 21 khoản 2"
NĐ30_5 = "NĐ 30/2020/NĐ-CP Điều 5, 13, 17"
C11_BASIS = "CT 34/2008/CT-TTg; QĐ 41/2011/QĐ-UBND"
