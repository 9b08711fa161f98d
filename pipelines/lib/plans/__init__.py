"""The plan catalog (indicators, targets, projects, departments), read from the dbt seeds."""


def review_note(zh: str, en: str) -> str:
    """One note of a draft's review column or one problem of `plan check`/`plan add`, Chinese first as
    everywhere in the command line: 中文 · English. Code that sorts or drops notes looks for words of the
    English half, which stays as it was."""
    return f"{zh} · {en}"
