"""Small modal screens: confirmation of a destructive action, a value a command needs, and the
key help."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.actions import bindings


class ConfirmScreen(ModalScreen[bool]):
    """Asks before anything that stops programs. `y`/Enter confirm, `n`/Esc cancel."""

    BINDINGS = bindings("confirm")
    WHERE = "confirm"

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question, id="confirm-question")
            if self.detail:
                yield Static(self.detail, id="confirm-detail")
            with Horizontal(id="confirm-buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class AskScreen(ModalScreen[dict[str, Any] | None]):
    """Asks for what a command needs (a number of processes, a signal): Enter gives it once
    `parse` takes it, Esc leaves it. Answers with `parse`'s values, or None."""

    BINDINGS = bindings("ask")
    WHERE = "ask"

    def __init__(
        self, prompt: str, placeholder: str, parse: Callable[[str], dict[str, Any]]
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.placeholder = placeholder
        self.parse = parse

    def compose(self) -> ComposeResult:
        with Vertical(id="ask"):
            yield Label(self.prompt, id="ask-prompt", markup=False)
            yield Input(placeholder=self.placeholder, id="ask-input")
            yield Label("", id="ask-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            values = self.parse(event.value)
        except ValueError as exc:
            self.query_one("#ask-error", Label).update(str(exc))
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key of the console, generated from the bindings so it can never drift."""

    BINDINGS = bindings("help")
    WHERE = "help"

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.rows), default=4)
        text = "\n".join(f"[b]{k:<{width}}[/b]  {d}" for k, d in self.rows)
        with Vertical(id="help"):
            yield Label("Keys  (Esc closes; arrows scroll)", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(text, id="help-body")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
