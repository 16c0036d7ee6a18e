"""zonesim.obs: logs and what people read — /proc renderers, failure reports, the HTML
report, trace exporters (Chrome Trace Event / Perfetto, ftrace text)."""
