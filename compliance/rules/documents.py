"""English titles of the documents the rules cite, for the English outputs.

``message_en``, the English report and opinion cite a clause by its
document's English title and number, never by a seed file name.  A source in
a profile may give its own ``document_en``; otherwise the title is looked up
here by the Chinese title (``document`` or ``basis``), and a document not
listed is cited by its Chinese title.
"""

from __future__ import annotations

from .model import Source

#: English title and number of each document, by its Chinese title as the profiles spell it.
DOCUMENT_EN: dict[str, str] = {
    "《城乡建设领域碳达峰实施方案》（建标〔2022〕53号）": (
        "Implementation Plan for Carbon Peaking in Urban and Rural Construction "
        "(MOHURD and NDRC, Jianbiao [2022] No. 53)"
    ),
    "《关于加强县城绿色低碳建设的意见》（建村〔2021〕45号）": (
        "Opinions on Strengthening Green and Low-Carbon Construction of County Towns "
        "(MOHURD, Jiancun [2021] No. 45)"
    ),
    "《国家园林城市评选标准》": "National Garden City Evaluation Standard (MOHURD)",
    "《自治区住房和城乡建设厅贯彻落实〈自治区城乡建设领域碳达峰实施方案〉责任分工方案》": (
        "Xinjiang Uygur Autonomous Region Department of Housing and Urban-Rural Development: "
        "Division of Responsibilities for Implementing the Region's Carbon Peaking Plan for "
        "Urban and Rural Construction"
    ),
    "《阿拉善盟城乡建设领域碳达峰工作行动方案》（阿住建发〔2023〕66号）": (
        "Alxa League Action Plan for Carbon Peaking in Urban and Rural Construction "
        "(Azhujianfa [2023] No. 66)"
    ),
    "《鹤壁市城乡建设领域碳达峰行动方案》（鹤建综[2023]61号）": (
        "Hebi Action Plan for Carbon Peaking in Urban and Rural Construction "
        "(Hejianzong [2023] No. 61)"
    ),
    "《焦作市城乡建设领域碳达峰行动实施方案》（焦建规定〔2023〕3号）": (
        "Jiaozuo Implementation Plan for Carbon Peaking Actions in Urban and Rural Construction "
        "(Jiaojianguiding [2023] No. 3)"
    ),
    "《巴彦淖尔市推动城乡建设绿色发展实施方案》（巴政办发〔2023〕71号）": (
        "Bayannur Implementation Plan for Promoting Green Development in Urban and Rural "
        "Construction (Bazhengbanfa [2023] No. 71)"
    ),
}


def document_en(title_zh: str) -> str:
    """The English title and number of a document given its Chinese title (itself when unknown)."""
    return DOCUMENT_EN.get(title_zh.strip(), title_zh)


def source_document_en(source: Source) -> str:
    """The English title of the document a source quotes."""
    return source.document_en or document_en(source.document)
