"""Reports of an evaluation: full_results.json and its renderings (summary.md, evaluation_summary.txt,
per_sample.csv, report.html, paper_table.md), and the comparison of several result folders. Reads results; never
scores."""
from talkingface.report.compare import comparison_markdown, write_comparison, write_paper_table
from talkingface.report.paper import paper_table_markdown
from talkingface.report.results import RESULTS_NAME, load_results, write_reports
from talkingface.report.text import per_sample_csv, summary_markdown, summary_text

__all__ = ["RESULTS_NAME", "comparison_markdown", "load_results", "paper_table_markdown", "per_sample_csv",
           "summary_markdown", "summary_text", "write_comparison", "write_paper_table", "write_reports"]
