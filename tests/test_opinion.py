"""``opinion.docx``: a rule's numbered sentences, copied from the first paragraph python-docx
makes, are the paragraphs python-docx makes one by one."""

from __future__ import annotations

from lxml import etree

from compliance.outputs.opinion import _numbered, _numbered_list, _numbered_paragraph, _set_fonts

TEXTS = [
    "组团「组团2」的组团平均人口密度为 10,124 人/平方公里；对象编号 C2（组团图层）。",
    "  leading and trailing spaces  ",
    "a tab\there, a line break\nthere and a return\rtoo",
    "",
    "markup < & > kept as text, emoji \U0001f600",
    "plain",
]


def _body(build) -> bytes:  # type: ignore[no-untyped-def]
    from docx import Document

    doc = Document()
    _set_fonts(doc, "zh")
    doc.add_paragraph("before")
    build(doc, _numbered(doc))
    doc.add_paragraph("after")
    return etree.tostring(doc.element.body)


def test_numbered_list_is_what_python_docx_makes() -> None:
    one_by_one = _body(lambda doc, num: [_numbered_paragraph(doc, t, num) for t in TEXTS])
    listed = _body(lambda doc, num: _numbered_list(doc, TEXTS, num))
    assert listed == one_by_one
    assert b"<w:tab/>" in listed and b'xml:space="preserve"' in listed
    assert listed.count(b"<w:numId ") == len(TEXTS)


def test_numbered_list_of_nothing_adds_nothing() -> None:
    assert _body(lambda doc, num: _numbered_list(doc, [], num)) == _body(lambda doc, num: None)
