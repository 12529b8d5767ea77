"""The message box and its buttons: Send (Enter), newline (Shift+Enter), Stop (Esc), Regenerate,
and Attach image (also by dropping image files on the composer, the message box included)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fireside.gui import icons, theme
from fireside.gui.views.chat_attachments import AttachmentStrip

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.bmp *.webp *.tif *.tiff)"


class Composer(QWidget):
    send_requested = Signal(str)
    stop_requested = Signal()
    regenerate_requested = Signal()
    edit_cancelled = Signal()
    attach_requested = Signal(list)  # local image file paths to attach (list[Path])

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        col = QVBoxLayout(self)
        col.setContentsMargins(16, 6, 16, 12)
        col.setSpacing(6)

        self.edit_banner = QFrame()
        self.edit_banner.setObjectName("banner")
        row = QHBoxLayout(self.edit_banner)
        row.setContentsMargins(10, 4, 6, 4)
        self.edit_label = QLabel("Editing an earlier message: sending replaces it and "
                                 "everything after it.")
        self.edit_label.setObjectName("editBannerText")
        self.edit_label.setWordWrap(True)
        row.addWidget(self.edit_label, 1)
        self.cancel_edit = QPushButton("Cancel edit")
        self.cancel_edit.setObjectName("cancelEdit")
        self.cancel_edit.setAccessibleName("Cancel edit")
        self.cancel_edit.clicked.connect(self._on_cancel_edit)
        row.addWidget(self.cancel_edit)
        self.edit_banner.setVisible(False)
        col.addWidget(self.edit_banner)
        self.attachments = AttachmentStrip()
        col.addWidget(self.attachments)
        self.setAcceptDrops(True)

        row = QHBoxLayout()
        row.setSpacing(8)
        self.input = QPlainTextEdit()
        self.input.setObjectName("messageInput")
        self.input.setAccessibleName("Message")
        self.input.setPlaceholderText("Type a message — Enter sends, Shift+Enter adds a line")
        self.input.setFixedHeight(76)
        self.input.setTabChangesFocus(True)
        self.input.installEventFilter(self)
        self.input.setAcceptDrops(False)  # a dropped file attaches (the composer's drop), not
        # its path typed into the box
        self.attach = QToolButton()
        self.attach.setObjectName("attachImageButton")
        self.attach.setAccessibleName("Attach image")
        self.attach.setToolTip("Attach images for a model that reads them (or drop image "
                               "files here)")
        self.attach.setAutoRaise(True)
        icons.put(self.attach, "attach_image", "text", size=22)
        self.attach.clicked.connect(self._on_attach)
        row.addWidget(self.attach, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.input, 1)

        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        self.send = QPushButton("Send")
        self.send.setObjectName("sendButton")
        self.send.setAccessibleName("Send")
        self.send.setToolTip("Send (Enter)")
        self.send.clicked.connect(self._on_send)
        self.stop = QPushButton("Stop")
        self.stop.setObjectName("stopButton")
        self.stop.setAccessibleName("Stop")
        self.stop.setToolTip("Stop the reply (Esc)")
        self.stop.clicked.connect(self.stop_requested)
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setObjectName("regenerateButton")
        self.regenerate.setAccessibleName("Regenerate")
        self.regenerate.setToolTip("Write the last reply again")
        self.regenerate.clicked.connect(self.regenerate_requested)
        theme.set_variant(self.stop, "danger")
        for b, icon, tint in ((self.send, "send", "accent_text"),
                              (self.stop, "stop", "danger_text"),
                              (self.regenerate, "resume", "text")):
            icons.put(b, icon, tint)
            b.setMinimumWidth(104)
            buttons.addWidget(b)
        buttons.addStretch(1)
        row.addLayout(buttons)
        col.addLayout(row)
        self.editing_position: int | None = None
        self.set_generating(False, can_regenerate=False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.input and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                    return False  # Shift+Enter: a newline
                self._on_send()
                return True
            if key == Qt.Key.Key_Escape:
                if self.stop.isVisible():
                    self.stop_requested.emit()
                elif self.editing_position is not None:
                    self._on_cancel_edit()
                return True
        return super().eventFilter(watched, event)

    @Slot()
    def _on_attach(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Attach images", "", IMAGE_FILTER)
        if files:
            self.attach_requested.emit([Path(f) for f in files])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.attach_requested.emit(paths)

    @Slot()
    def _on_send(self) -> None:
        if not self.send.isEnabled():
            return
        text = self.input.toPlainText().strip()
        if text or self.attachments.names():
            self.send_requested.emit(text)

    def submit(self, text: str) -> None:
        """Put ``text`` in the message box and send it, as if typed (an example prompt)."""
        self.input.setPlainText(text)
        self._on_send()

    def clear(self) -> None:
        self.input.clear()
        self.attachments.clear()
        self.end_edit()

    def begin_edit(self, position: int, text: str) -> None:
        self.editing_position = position
        self.attachments.clear()  # the edited message's own images are put back by the pane
        self.input.setPlainText(text)
        self.edit_banner.setVisible(True)
        self.send.setText("Resend")
        self.input.setFocus()

    def end_edit(self) -> None:
        self.editing_position = None
        self.edit_banner.setVisible(False)
        self.send.setText("Send")

    @Slot()
    def _on_cancel_edit(self) -> None:
        self.clear()
        self.edit_cancelled.emit()

    def set_generating(self, generating: bool, can_regenerate: bool) -> None:
        self.send.setVisible(not generating)
        self.stop.setVisible(generating)
        self.send.setEnabled(not generating)
        self.regenerate.setEnabled(not generating and can_regenerate)
