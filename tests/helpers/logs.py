"""Everything a log record carries (message and structured extras), as one string."""


def dump(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.extend(f"{k}={v}" for k, v in vars(record).items() if k not in ("msg", "args"))
    return "\n".join(parts)
