"""Rewrite the generated monitoring files: ``python -m observability.monitoring``."""

from __future__ import annotations

from observability.monitoring.files import generated_files


def main() -> None:
    for path, text in generated_files().items():
        path.write_text(text)


if __name__ == "__main__":
    main()
