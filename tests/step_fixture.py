"""A tiny step module for the runner's tests: each ``mode`` breaks one rule of the contract."""
from __future__ import annotations

from paperbuild.numbers import count


def run(inputs, outputs, *, mode: str):
    """Write the declared table, then misbehave as ``mode`` says."""
    text = inputs["source"].read_text(encoding="utf-8")
    outputs["table"].write_text(text.upper(), encoding="utf-8")
    if mode == "undeclared_output":
        (outputs["table"].parent / "extra.csv").write_text("x\n", encoding="utf-8")
    if mode == "undeclared_input":
        inputs["secret"]
    number = count("fixture.lines", len(text.splitlines()))
    if mode == "foreign_provenance":
        return [number.from_inputs(inputs["source"].parent / "elsewhere.txt")]
    if mode == "subset_provenance":
        return [number.from_inputs(inputs["source"])]
    return [number]
