"""What people read: the progress report, exports, the run summary, labels, the validation report."""
