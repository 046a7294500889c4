#!/usr/bin/env python3
"""Turn the result files of scripts/bench into a Markdown page.

Reads RESULTS_DIR/machine.json, start-N.json, load-{agent,nginx}-C.json,
memory-*.txt and mappings-agent-idle.json, as scripts/bench writes them. Prints the page, and
writes it to --out when given.
"""

import argparse
import json
import pathlib
import re
import statistics
import sys

# Targets for the agent, from the project's performance goals.
THROUGHPUT_RATIO_MIN = 1.0  # agent req/s at least nginx's
P99_RATIO_MAX = 1.5  # agent p99 at most 1.5 times nginx's
OWN_WORK_SHARE_MAX = 0.10  # agent's own work under 10% of the time to the first token
IDLE_RSS_MAX_MIB = 10.0
LOAD_RSS_MAX_MIB = 20.0

# Hand-written analysis after this line in an existing --out file is kept
# when the figures above it are regenerated.
NOTES_MARKER = "<!-- Text below this line is written by hand; scripts/bench keeps it. -->"

STAGES = [
    ("tpm", "TPM commands (report, AK, quote, ephemeral key)"),
    ("certificates", "VCEK chain"),
    ("self_check", "evidence self-check"),
    ("service", "attestation service round trip"),
    ("decrypt_and_verify", "decrypt (TPM) and verify the token"),
]


def load_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def verdict(met):
    return "met" if met else "**missed**"


def mib(kib):
    return kib / 1024.0


def read_samples(path):
    """Return the (VmRSS, RssAnon, RssFile) samples in KiB of a memory-*.txt file."""
    if not path.exists():
        return []
    samples = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) == 3 and all(field.isdigit() for field in fields):
            samples.append(tuple(int(field) for field in fields))
    return samples


def peak(samples):
    """Return the sample with the largest VmRSS, or zeros."""
    return max(samples, default=(0, 0, 0))


def rounds_text(run):
    return ", ".join(f"{value / 1000:.1f}k" for value in run.get("rounds_throughput_rps", [run["throughput_rps"]]))


def load_section(results, machine):
    counts = sorted(
        int(match.group(1))
        for match in (re.fullmatch(r"load-agent-(\d+)", path.stem) for path in results.glob("load-agent-*.json"))
        if match
    )
    lines = [
        "## Cached token: throughput and latency",
        "",
        f"`GET /v1/token` back to back on keep-alive HTTP/1.1 connections, one "
        f"`cvm-loadgen` thread per connection, {machine['warmup_seconds']:g} s of "
        f"warm-up then {machine['seconds']:g} s measured per run. Each server ran "
        f"{machine['rounds']} rounds per connection count, alternating with the other; "
        f"each row shows the run with the median throughput, and the last column "
        f"lists every round's throughput. nginx serves a "
        f"static file of the token's size ({machine['token_bytes']} bytes) at the "
        f"same path over its own Unix socket, with {machine['nginx_workers']} worker "
        f"processes, keep-alive on, an open-file cache and the access log off. Latencies are in "
        f"microseconds. Ratios are agent / nginx.",
        "",
        "| connections | agent req/s | nginx req/s | ratio | target (≥ 1.0) "
        "| agent p50 | nginx p50 | agent p99 | nginx p99 | p99 ratio | target (≤ 1.5) "
        "| agent max | nginx max | errors (agent / nginx) | all rounds, req/s (agent; nginx) |",
        "|---:|---:|---:|---:|:--|---:|---:|---:|---:|---:|:--|---:|---:|:--|:--|",
    ]
    summary = []
    for count in counts:
        agent = load_json(results / f"load-agent-{count}.json")
        nginx = load_json(results / f"load-nginx-{count}.json")
        ratio = agent["throughput_rps"] / nginx["throughput_rps"] if nginx["throughput_rps"] else 0.0
        p99_ratio = (
            agent["latency_us"]["p99"] / nginx["latency_us"]["p99"] if nginx["latency_us"]["p99"] else 0.0
        )
        throughput_met = ratio >= THROUGHPUT_RATIO_MIN and agent["errors"] == 0
        p99_met = p99_ratio <= P99_RATIO_MAX and agent["errors"] == 0
        lines.append(
            f"| {count} | {agent['throughput_rps']:,.0f} | {nginx['throughput_rps']:,.0f} | {ratio:.2f} "
            f"| {verdict(throughput_met)} | {agent['latency_us']['p50']} | {nginx['latency_us']['p50']} "
            f"| {agent['latency_us']['p99']} | {nginx['latency_us']['p99']} | {p99_ratio:.2f} "
            f"| {verdict(p99_met)} | {agent['latency_us']['max']} | {nginx['latency_us']['max']} "
            f"| {agent['errors']} / {nginx['errors']} | {rounds_text(agent)}; {rounds_text(nginx)} |"
        )
        summary.append((count, ratio, p99_ratio, throughput_met, p99_met))
    lines.append("")
    return lines, summary


def startup_section(results, machine):
    starts = [load_json(path) for path in sorted(results.glob("start-*.json"), key=lambda p: int(p.stem.split("-")[1]))]
    lines = [
        "## Start-up: daemon start to the first token served",
        "",
        f"{len(starts)} starts of `cvm-attestd` against the emulated CVM (swtpm) and the "
        "loopback attestation service of `scripts/dev-env`. *First token* is measured "
        "by the script, from launching the daemon to the first HTTP 200 on `GET /v1/token` "
        "(polled every millisecond by a client started before the daemon). "
        "*Attestation* and the stages come from the daemon's log. *Outside the "
        "stages* is the rest of the first-token time: process start and dynamic linking, "
        "configuration, the socket, the endpoint lookup and the HTTP request that "
        "fetches the token. The first start may fetch the VCEK chain from the IMDS peer; "
        "later starts can reuse the on-disk certificate cache.",
        "",
        "| start | first token (ms) | attestation (ms) | "
        + " | ".join(f"{name} (ms)" for name, _ in STAGES)
        + " | outside the stages (ms) | agent's own share |",
        "|---:|---:|---:|" + "---:|" * len(STAGES) + "---:|---:|",
    ]
    shares = []
    rows = []
    for index, start in enumerate(starts, 1):
        stage_sum = sum(start["stages_ms"].values())
        outside = start["first_token_ms"] - stage_sum
        own = start["first_token_ms"] - start["stages_ms"]["service"]
        share = own / start["first_token_ms"] if start["first_token_ms"] else 0.0
        shares.append(share)
        rows.append((start["first_token_ms"], start["attestation_ms"], start["stages_ms"], outside, share))
        lines.append(
            f"| {index} | {start['first_token_ms']:.0f} | {start['attestation_ms']} | "
            + " | ".join(f"{start['stages_ms'][name]:.1f}" for name, _ in STAGES)
            + f" | {outside:.1f} | {share:.0%} |"
        )
    median = statistics.median
    median_total = median(row[0] for row in rows)
    median_stages = {name: median(row[2][name] for row in rows) for name, _ in STAGES}
    median_outside = median(row[3] for row in rows)
    median_share = median(shares)
    lines.append(
        f"| **median** | **{median_total:.0f}** | **{median(row[1] for row in rows):.0f}** | "
        + " | ".join(f"**{median_stages[name]:.1f}**" for name, _ in STAGES)
        + f" | **{median_outside:.1f}** | **{median_share:.0%}** |"
    )
    lines += [
        "",
        "Stages: " + "; ".join(f"*{name}*: {text}" for name, text in STAGES) + ".",
        "",
        f"Target: the agent's own work (everything but the service round trip) under "
        f"{OWN_WORK_SHARE_MAX:.0%} of the time to the first token. Median share: "
        f"{median_share:.0%}, target {verdict(median_share < OWN_WORK_SHARE_MAX)}.",
        "",
    ]
    return lines, (median_total, median_share)


def memory_section(results):
    idle = peak(read_samples(results / "memory-agent-idle.txt"))
    after = peak(read_samples(results / "memory-agent-after.txt"))
    agent_peak = peak(read_samples(results / "memory-agent-64.txt"))
    nginx_peak = peak(read_samples(results / "memory-nginx-64.txt"))
    nginx_after = peak(read_samples(results / "memory-nginx-after.txt"))

    def ratio(agent, nginx):
        return f"{agent / nginx:.2f}" if nginx else "n/a"

    lines = [
        "## Resident memory",
        "",
        "VmRSS from `/proc/PID/status`. *Idle*: 2 s after the first token, before any "
        "load. *Peak*: the largest of the samples taken every 100 ms during the "
        "64-connection run. nginx figures are sums over its master and workers; nginx "
        "has no idle figure before the load because it starts after that sample, so "
        "its row shows the figure after the load.",
        "",
        "| | agent VmRSS (MiB) | nginx VmRSS (MiB) | ratio | target | |",
        "|:--|---:|---:|---:|:--|:--|",
        f"| idle | {mib(idle[0]):.1f} | {mib(nginx_after[0]):.1f} (after the load) | {ratio(idle[0], nginx_after[0])} "
        f"| ≤ {IDLE_RSS_MAX_MIB:g} MiB | {verdict(mib(idle[0]) <= IDLE_RSS_MAX_MIB)} |",
        f"| peak, 64 connections | {mib(agent_peak[0]):.1f} | {mib(nginx_peak[0]):.1f} "
        f"| {ratio(agent_peak[0], nginx_peak[0])} | ≤ {LOAD_RSS_MAX_MIB:g} MiB "
        f"| {verdict(mib(agent_peak[0]) <= LOAD_RSS_MAX_MIB)} |",
        f"| after the load | {mib(after[0]):.1f} | {mib(nginx_after[0]):.1f} | {ratio(after[0], nginx_after[0])} | | |",
        "",
        "What the agent's VmRSS consists of: *RssAnon* is the memory the process "
        "allocated (heap, thread stacks, written library data). *RssFile* is the pages "
        "of mapped files it has touched. Almost all of them are the code of shared "
        "libraries, which the page cache shares with every other process using them.",
        "",
        "| | VmRSS (MiB) | RssAnon (MiB) | RssFile (MiB) |",
        "|:--|---:|---:|---:|",
        f"| idle | {mib(idle[0]):.1f} | {mib(idle[1]):.1f} | {mib(idle[2]):.1f} |",
        f"| peak, 64 connections | {mib(agent_peak[0]):.1f} | {mib(agent_peak[1]):.1f} | {mib(agent_peak[2]):.1f} |",
        f"| after the load | {mib(after[0]):.1f} | {mib(after[1]):.1f} | {mib(after[2]):.1f} |",
        "",
    ]
    mappings_file = results / "mappings-agent-idle.json"
    if mappings_file.exists():
        lines += [
            "The largest parts of the idle VmRSS, per mapping (`/proc/PID/smaps`):",
            "",
            "| mapping | Rss (KiB) |",
            "|:--|---:|",
        ]
        for entry in load_json(mappings_file):
            # The build directory's absolute path is of no use to the reader.
            name = "cvm-attestd (the binary)" if entry["mapping"].endswith("/bin/cvm-attestd") else entry["mapping"]
            lines.append(f"| `{name}` | {entry['rss_kib']} |")
        lines.append("")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    machine = load_json(args.results / "machine.json")

    load_lines, _ = load_section(args.results, machine)
    startup_lines, _ = startup_section(args.results, machine)
    memory_lines = memory_section(args.results)
    command = (
        f"scripts/bench --seconds {machine['seconds']:g} --warmup-seconds {machine['warmup_seconds']:g} "
        f"--rounds {machine['rounds']} --starts {machine['starts']} --out docs/benchmarks.md"
    )
    page = [
        "# Benchmarks",
        "",
        "Figures for `cvm-attestd` (the agent daemon) from `scripts/bench`, which builds "
        "a Release build in `build-bench/`, starts the emulated CVM with `scripts/dev-env`, "
        "and drives the daemon and a reference nginx with `cvm-loadgen` "
        "(`tests/bench/loadgen.cpp`). Reproduce with:",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Machine",
        "",
        "| | |",
        "|:--|:--|",
        f"| date | {machine['date']} |",
        f"| commit | {machine['commit']} |",
        f"| CPU | {machine['cpu']} |",
        f"| cores (nproc) | {machine['nproc']} |",
        f"| kernel | {machine['kernel']} |",
        f"| nginx | {machine['nginx']} |",
        "",
        f"The load generator, the server under test, swtpm and the attestation peers "
        f"all share these {machine['nproc']} cores, so the throughput figures are "
        f"those of the pair (client and server) on this machine, not the server's "
        f"ceiling. The machine was not otherwise idle: other builds may have run "
        f"at the same time.",
        "",
    ]
    page += load_lines + startup_lines + memory_lines
    text = "\n".join(page)
    sys.stdout.write(text)
    if args.out:
        notes = ""
        if args.out.exists():
            old = args.out.read_text(encoding="utf-8")
            if NOTES_MARKER in old:
                notes = old[old.index(NOTES_MARKER) + len(NOTES_MARKER):]
        args.out.write_text(text + NOTES_MARKER + (notes or "\n"), encoding="utf-8")


if __name__ == "__main__":
    main()
