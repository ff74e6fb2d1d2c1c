"""`?`: every key, from the bindings themselves (one source for the footer and the help)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

ABOUT = (
    "dsnwatch shows the Dovecot and Postfix log events about delivery reports (top) and "
    "every report that reached the central mailbox (bottom). Tab moves between them."
)

# Keys a widget of Textual's own handles for us, described for the help screen.
EXTRA: dict[str, list[tuple[str, str]]] = {
    "Reports": [("enter", "Open the report: every field, headers, raw message, log events")],
    "Everywhere": [
        ("tab", "Switch between the log pane and the reports"),
        ("ctrl+p", "Command palette (themes included)"),
    ],
}


def _keys(binding: Binding) -> str:
    return " ".join(k.strip() for k in binding.key.split(","))


def help_content(sections: list[tuple[str, list[BindingType]]]) -> Content:
    """The help text: one block per section, one line per binding."""
    lines: list[Content] = [Content(ABOUT), Content("")]
    for title, bindings in sections:
        lines.append(Content.styled(title, "bold $text-accent"))
        seen = set()
        for item in bindings:
            if not isinstance(item, Binding) or not item.description:
                continue
            if item.key in seen:
                continue
            seen.add(item.key)
            keys = _keys(item).replace("question_mark", "?").replace("slash", "/")
            lines.append(
                Content.assemble((f"  {keys:<18}", "bold"), item.tooltip or item.description)
            )
        for keys, description in EXTRA.get(title, []):
            lines.append(Content.assemble((f"  {keys:<18}", "bold"), description))
        lines.append(Content(""))
    lines.append(Content.styled("Esc, q or ? closes this screen.", "$text-muted"))
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """Every key binding, grouped by where it works."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog") as box:
            box.border_title = "Keys"
            yield Static(help_content(self.sections), markup=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
