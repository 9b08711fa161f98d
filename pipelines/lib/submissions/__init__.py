"""One validation core for department submissions: readers, value parsing, reasons and messages,
catalog enrichment and the check (check.py) that the pipeline and any other entry point call alike;
also the templates departments fill and the sample generator."""
