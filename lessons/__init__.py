"""The guided course: one TOML file per lesson, loaded and validated by `lessons.loader`."""
from lessons.loader import (
    LESSONS_DIR,
    QUESTION_KINDS,
    WIDGET_SPECS,
    Lesson,
    LessonError,
    Question,
    Step,
    Widget,
    lesson_files,
    load_all,
    load_lesson,
)

__all__ = [
    "LESSONS_DIR", "QUESTION_KINDS", "WIDGET_SPECS", "Lesson", "LessonError", "Question", "Step",
    "Widget", "lesson_files", "load_all", "load_lesson",
]
