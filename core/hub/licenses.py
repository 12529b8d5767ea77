"""License verdicts: what a person may do with a model, in one badge and one line.

Model cards name licenses loosely (SPDX-ish ids in ``license``, ``other`` plus a free-form
``license_name``, ``license:`` tags, a GGUF's ``general.license``). The verdict folds all of that
into five classes a user can act on, always with a link so the actual terms are one click away —
the verdict is a guide, never legal advice.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class LicenseClass(str, Enum):
    COMMERCIAL = "commercial"
    ATTRIBUTION = "attribution"
    CONDITIONS = "conditions"
    NONCOMMERCIAL = "noncommercial"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    LicenseClass.COMMERCIAL: "commercial use OK",
    LicenseClass.ATTRIBUTION: "attribution required",
    LicenseClass.CONDITIONS: "custom terms with conditions",
    LicenseClass.NONCOMMERCIAL: "non-commercial / research only",
    LicenseClass.UNKNOWN: "unknown — read it",
}


@dataclass(frozen=True)
class LicenseVerdict:
    license_id: str
    klass: LicenseClass
    reason: str
    link: str

    @property
    def label(self) -> str:
        return self.klass.label

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["klass"] = self.klass.value
        data["label"] = self.label
        return data


_PERMISSIVE = {
    "mit", "apache-2.0", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "0bsd",
    "isc", "unlicense", "cc0-1.0", "zlib", "bsl-1.0", "wtfpl", "postgresql", "upl-1.0",
    "ncsa", "afl-3.0", "ecl-2.0", "artistic-2.0", "cdla-permissive-1.0", "cdla-permissive-2.0",
    "pddl", "mpl-2.0", "ms-pl", "openmdw-1.0",
}
_ATTRIBUTION = {"cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
                "cc-by-sa-4.0", "odc-by", "odbl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl",
                "lgpl-2.1", "lgpl-3.0", "agpl-3.0", "lgpl-lr", "cdla-sharing-1.0", "epl-2.0",
                "eupl-1.1", "eupl-1.2", "osl-3.0", "cc-by-sa-2.0"}
# (pattern on the id or license_name, reason, canonical link)
_CONDITIONS: list[tuple[str, str, str]] = [
    (r"llama ?2", "Llama 2 Community License: products over 700M monthly users need a "
     "license from Meta; acceptable-use policy applies", "https://ai.meta.com/llama/license/"),
    (r"llama ?3\.?1", "Llama 3.1 Community License: over 700M monthly users need Meta's "
     "permission; credit \"Built with Llama\"", "https://www.llama.com/llama3_1/license/"),
    (r"llama ?3\.?2", "Llama 3.2 Community License: over 700M monthly users need Meta's "
     "permission; credit \"Built with Llama\"", "https://www.llama.com/llama3_2/license/"),
    (r"llama ?3\.?3", "Llama 3.3 Community License: over 700M monthly users need Meta's "
     "permission; credit \"Built with Llama\"", "https://www.llama.com/llama3_3/license/"),
    (r"llama ?4", "Llama 4 Community License: over 700M monthly users need Meta's permission",
     "https://www.llama.com/llama4/license/"),
    (r"llama", "Llama Community License: over 700M monthly users need Meta's permission; "
     "acceptable-use policy applies", "https://www.llama.com/llama3/license/"),
    (r"gemma", "Gemma Terms of Use: commercial use allowed, the prohibited-use policy "
     "applies and passes on to derivatives", "https://ai.google.dev/gemma/terms"),
    (r"qwen|tongyi", "Qwen license: commercial use allowed, over 100M monthly users need "
     "Alibaba's permission", "https://huggingface.co/Qwen/Qwen-7B/blob/main/LICENSE"),
    (r"deepseek", "DeepSeek model license: commercial use allowed with use-based restrictions",
     "https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL"),
    (r"openrail|bigscience|bloom|creativeml|bigcode",
     "OpenRAIL license: use-based restrictions that pass on to derivatives",
     "https://www.licenses.ai/"),
    (r"falcon", "Falcon license: commercial use with an acceptable-use policy",
     "https://falconllm.tii.ae/falcon-terms-and-conditions.html"),
    (r"health-ai|hai-def", "Health AI Developer Foundations terms: conditions apply",
     "https://developers.google.com/health-ai-developer-foundations/terms"),
]
_NONCOMMERCIAL = re.compile(
    r"(^|[-_ ])nc([-_ ]|$)|non-?commercial|research|mnpl|non-?production|academic|"
    r"cc-by-nc|fair-noncommercial|apple-amlr|apple-ascl", re.IGNORECASE)
_SPDX_LINK = "https://spdx.org/licenses/{}.html"
_CC_LINK = "https://creativecommons.org/licenses/{}/{}/"


def _norm(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip().lower()


def _link_for(lic: str) -> str:
    m = re.match(r"cc-(by(?:-nc)?(?:-sa|-nd)?)-(\d\.\d)", lic)
    if m:
        return _CC_LINK.format(m.group(1), m.group(2))
    if lic in ("cc0-1.0",):
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    if lic in _PERMISSIVE | _ATTRIBUTION:
        return _SPDX_LINK.format(lic.upper().replace("APACHE", "Apache").replace("LGPL-LR", "LGPL"))
    return ""


def _absolute(link: str, repo: str, endpoint: str) -> str:
    if not link or re.match(r"^[a-z]+://", link):
        return link
    return f"{endpoint.rstrip('/')}/{repo}/blob/main/{link.lstrip('./')}" if repo else link


def verdict(card_data: dict[str, Any] | None = None, tags: list[str] | None = None,
            gguf_license: str = "", *, repo: str = "", endpoint: str = "") -> LicenseVerdict:
    """The verdict for a repo (card data and tags) or a bare GGUF (``general.license``)."""
    card = card_data or {}
    lic = _norm(card.get("license"))
    if not lic:
        tag = next((t for t in tags or [] if t.startswith("license:")), "")
        lic = _norm(tag.removeprefix("license:"))
    if not lic:
        lic = _norm(gguf_license)
    name = _norm(card.get("license_name"))
    link = _absolute(str(card.get("license_link") or ""), repo, endpoint)
    key = name if lic in ("other", "") and name else lic
    shown = name or lic or "none"
    if not key:
        return LicenseVerdict("", LicenseClass.UNKNOWN,
                              "no license stated: ask the author before using it", link)
    if key in _PERMISSIVE:
        return LicenseVerdict(shown, LicenseClass.COMMERCIAL,
                              f"{shown}: permissive, commercial use allowed (keep the notice)",
                              link or _link_for(key))
    if _NONCOMMERCIAL.search(key):
        return LicenseVerdict(shown, LicenseClass.NONCOMMERCIAL,
                              f"{shown}: non-commercial or research use only",
                              link or _link_for(key))
    if key in _ATTRIBUTION or key.startswith(("cc-by", "gpl", "lgpl", "agpl")):
        share = " and share-alike" if "sa" in key.split("-") or "gpl" in key else ""
        return LicenseVerdict(shown, LicenseClass.ATTRIBUTION,
                              f"{shown}: commercial use allowed with attribution{share}",
                              link or _link_for(key))
    for pattern, reason, canonical in _CONDITIONS:
        if re.search(pattern, key):
            return LicenseVerdict(shown, LicenseClass.CONDITIONS, reason, link or canonical)
    if lic == "other" or name:
        return LicenseVerdict(shown, LicenseClass.UNKNOWN,
                              f"custom license {shown!r}: read the terms before use", link)
    return LicenseVerdict(shown, LicenseClass.UNKNOWN,
                          f"unrecognised license {shown!r}: read it before use", link)


GATED_MESSAGE = ("{repo} is gated: accept its terms on the Hub ({url}), then set a Hub token "
                 "(in the window: Settings → Hub token; or `fireside secrets set hub-token`, "
                 "or the HF_TOKEN environment variable)")


def gated_message(repo: str, endpoint: str) -> str:
    return GATED_MESSAGE.format(repo=repo, url=f"{endpoint.rstrip('/')}/{repo}")
