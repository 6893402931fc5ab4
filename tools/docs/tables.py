"""The tables of README and docs/, each built from the records in docs/runs (see tools/docs/build.py)."""

import json
import os
import statistics

from ruamel.yaml import YAML

# The original notebook's figures, as its author reported them (validation accuracy).
ORIGINAL = {"0.001": 0.9794, "0.0001": 0.9763, "0.00005": 0.9769}
# The literature's MLP rows on MNIST's test set (LeCun's table; Simard, Steinkraus & Platt, 2003;
# Srivastava et al., 2014).
LITERATURE = [
    ("lit-plain", "3-layer NN, 500+300 hidden units, weight decay (LeCun's table)", 1.53, "dropout 0.2, 60 epochs"),
    (
        "lit-dropout",
        "3×1024 ReLU units, dropout (Srivastava et al., Table 2)",
        1.25,
        "input dropout 0.2, dropout 0.5, max-norm 3, momentum 0.95, 500 epochs",
    ),
    (
        "lit-dropout-no-hidden-dropout",
        "3×1024 ReLU units, dropout (Srivastava et al., Table 2)",
        1.25,
        "lit-dropout without hidden dropout (input dropout 0.2, max-norm 3)",
    ),
    (
        "lit-dropout-hidden-0.2",
        "3×1024 ReLU units, dropout (Srivastava et al., Table 2)",
        1.25,
        "lit-dropout with hidden dropout 0.2 (input dropout 0.2, max-norm 3), the lowest validation error "
        "of the variants below",
    ),
    (
        "lit-dropout-3x1024",
        "3×1024 ReLU units, dropout + max-norm (Srivastava et al., Table 2)",
        1.06,
        "the paper's own network (784-1024-1024-1024-10) with lit-dropout's recipe, 200 epochs",
    ),
    (
        "lit-affine",
        "2-layer NN, 800 hidden units, affine distortions (Simard et al.)",
        1.1,
        "dropout 0.2, affine distortions, 100 epochs",
    ),
    (
        "lit-elastic",
        "2-layer NN, 800 hidden units, elastic distortions (Simard et al.)",
        0.7,
        "affine and elastic distortions, 200 epochs",
    ),
    (
        "lit-elastic-400",
        "6-layer NN, 2500-2000-1500-1000-500 units, elastic distortions (Cireşan et al. 2010)",
        0.35,
        "lit-elastic over 400 epochs, the lower validation error of the two (below)",
    ),
]
SEEDS = (0, 1, 2)
# lit-dropout's recipe on seed 0, then without each of its ingredients, then with a lower hidden rate
# (docs/literature.md).
DROPOUT_ABLATION = [
    ("lit-dropout-s0", "the recipe: input dropout 0.2, dropout 0.5, max-norm 3"),
    ("lit-dropout-no-max-norm-s0", "without max-norm"),
    ("lit-dropout-no-input-dropout-s0", "without input dropout"),
    ("lit-dropout-no-hidden-dropout-s0", "without hidden dropout"),
    ("lit-dropout-hidden-0.2-s0", "hidden dropout 0.2 instead of 0.5"),
]
# lit-elastic on seed 0 over its 200 epochs and over twice as many (docs/literature.md).
ELASTIC_VARIANTS = [
    ("lit-elastic-s0", "lit-elastic: 200 epochs"),
    ("lit-elastic-400-s0", "the same over 400 epochs"),
]


def percent(x, digits=2):
    return f"{100 * x:.{digits}f}%"


def minutes(seconds):
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


class Tables:
    def __init__(self, runs):
        self.runs = runs

    def by_name(self):
        return {
            "quickstart-times": self.quickstart_times,
            "headline": self.headline,
            "default": self.default,
            "lambda": self.lambdas,
            "beyond": self.beyond,
            "literature": self.literature,
            "dropout-ablation": lambda: self.seed0(DROPOUT_ABLATION),
            "elastic-variants": lambda: self.seed0(ELASTIC_VARIANTS),
            "fast": self.fast,
            "bench": self.bench,
            "overhead": self.overhead,
            "profile": self.profile,
            "estimators": self.estimators,
            "walkthrough": self.walkthrough,
            "photo": self.photo,  # in README
            "photo-docs": lambda: self.photo("img/"),  # in docs/photos.md
            "photos": self.photos,
            "photo-confidence": self.photo_confidence,
            "photo-summary": self.photo_summary,
        }

    # --- reading the records -------------------------------------------------------------------

    def load(self, *path):
        full = os.path.join(self.runs, *path)
        with open(full, encoding="utf-8") as f:
            return (
                json.load(f)
                if full.endswith(".json")
                else YAML(typ="safe").load(f)
                if full.endswith(".yaml")
                else f.read()
            )

    def run(self, name):
        """(metrics, params, run facts) of the recorded run ``name``."""
        return self.load(name, "metrics.json"), self.load(name, "params.yaml"), self.load(name, "run.json")

    def has(self, name):
        """Whether the run ``name`` is recorded in docs/runs."""
        return os.path.isdir(os.path.join(self.runs, name))

    def recorded(self, row):
        """The recorded runs among a row's seeds (``row``-s0, -s1, -s2), in seed order."""
        return [f"{row}-s{s}" for s in SEEDS if self.has(f"{row}-s{s}")]

    def seeds(self, row):
        """Test errors (in %) of a literature row's recorded seeds, and their mean ± std as text."""
        errors = [100 * (1 - self.run(name)[0]["model"]["test"]["accuracy"]) for name in self.recorded(row)]
        if len(errors) < 2:
            return errors, (f"{errors[0]:.2f}% (one seed)" if errors else "")
        return errors, f"{statistics.mean(errors):.2f}% ± {statistics.stdev(errors):.2f}"

    # --- README ----------------------------------------------------------------------------------

    def quickstart_times(self):
        q = self.load("quickstart.json")

        def said(key):  # a figure's own conditions, if it has them
            return f" ({q[key + ' conditions']})" if q.get(key + " conditions") else ""

        test = f"; `make test` took {minutes(q['make test'])}{said('make test')}" if q.get("make test") else ""
        return (
            f"On a fresh clone of a {q['machine']}, `make sample` took {minutes(q['make sample'])} "
            f"({minutes(q['setup'])} of it setting up `.venv`"
            + (f"; {q['make sample conditions']}" if q.get("make sample conditions") else "")
            + f"){test}.\n"
        )

    def headline(self):
        m, _, _ = self.run("default")
        lines = [
            "| | validation accuracy | test accuracy | epochs |",
            "|---|---|---|---|",
            f"| original notebook | {percent(ORIGINAL['0.001'])} | not reported | not reported |",
            f"| scratchnet, default configuration | **{percent(m['model']['val']['accuracy'])}** | "
            f"**{percent(m['model']['test']['accuracy'])}** | best {m['model']['epoch']:,} of {m['epochs']:,} |",
        ]
        rows = []
        for row, published, error, _ in LITERATURE:
            errors, summary = self.seeds(row)
            if errors:
                rows.append(f"| {published}: {error}% | `{row}` | **{summary}** |")
        if rows:
            lines += [
                "",
                "| the literature's MLP (published test error) | scratchnet experiment | "
                "test error (mean ± std over seeds) |",
                "|---|---|---|",
                *rows,
            ]
        return "\n".join(lines) + "\n"

    # --- docs/results.md -------------------------------------------------------------------------

    def default(self):
        m, _, facts = self.run("default")
        rows = [
            ("training accuracy", percent(m["model"]["train"]["accuracy"])),
            ("validation accuracy (original notebook: 97.94%)", percent(m["model"]["val"]["accuracy"])),
            ("test accuracy", percent(m["model"]["test"]["accuracy"])),
            ("validation / test loss", f"{m['model']['val']['loss']:.4f} / {m['model']['test']['loss']:.4f}"),
            (
                "expected calibration error, validation / test",
                f"{percent(m['model']['val']['ece'])} / {percent(m['model']['test']['ece'])}",
            ),
            ("the model's epoch (lowest validation loss) / epochs run", f"{m['model']['epoch']:,} / {m['epochs']:,}"),
            ("wall time of `dvc exp run` (all four stages)", minutes(facts["wall_seconds"])),
        ]
        return (
            "| | |\n|---|---|\n"
            + "\n".join(f"| {a} | {b} |" for a, b in rows)
            + f"\n\nMeasured on {facts['cpu']}"
            + (f", {facts['conditions']}" if facts.get("conditions") else "")
            + ".\n"
        )

    def lambdas(self):
        lines = [
            "| λ | original notebook, validation | scratchnet validation | scratchnet test | model epoch / epochs |",
            "|---|---|---|---|---|",
        ]
        for lam, run in (("0.001", "default"), ("0.0001", "lambda-1e-4"), ("0.00005", "lambda-5e-5")):
            m, _, _ = self.run(run)
            lines.append(
                f"| {lam} | {percent(ORIGINAL[lam])} | {percent(m['model']['val']['accuracy'])} | "
                f"{percent(m['model']['test']['accuracy'])} | {m['model']['epoch']:,} / {m['epochs']:,} |"
            )
        return "\n".join(lines) + "\n"

    def beyond(self):
        lines = [
            "| experiment | validation | test | loss gap | accuracy gap | model epoch / epochs |",
            "|---|---|---|---|---|---|",
        ]
        for run, what in (
            ("default", "SGD, λ 0.001 (default)"),
            ("adam", "Adam, lr 0.001"),
            ("dropout-0.2", "SGD with dropout 0.2"),
        ):
            if not self.has(run):
                continue  # not recorded
            m, _, _ = self.run(run)
            gap = "" if m["model"]["loss_gap"] is None else percent(m["model"]["loss_gap"], 0)
            lines.append(
                f"| {what} | {percent(m['model']['val']['accuracy'])} | "
                f"{percent(m['model']['test']['accuracy'])} | {gap} | "
                f"{100 * m['model']['accuracy_gap']:.2f} pp | {m['model']['epoch']:,} / {m['epochs']:,} |"
            )
        return "\n".join(lines) + "\n"

    # --- docs/literature.md ----------------------------------------------------------------------

    def literature(self):
        lines = [
            "| published network | test error | scratchnet experiment | test error, mean ± std | each seed | "
            "wall time per run |",
            "|---|---|---|---|---|---|",
        ]
        conditions = {}  # run -> the conditions it ran under
        for row, published, error, what in LITERATURE:
            errors, summary = self.seeds(row)
            facts = {name: self.load(name, "run.json") for name in self.recorded(row)}
            conditions.update({name: f.get("conditions", "") for name, f in facts.items()})
            if not errors:
                lines.append(f"| {published} | {error}% | `{row}`: {what} | not recorded in docs/runs | | |")
                continue
            wall = statistics.mean(f["wall_seconds"] for f in facts.values())
            lines.append(
                f"| {published} | {error}% | `{row}`: {what} | **{summary}** | "
                f"{', '.join(f'{e:.2f}%' for e in errors)} | {minutes(wall)} |"
            )
        return "\n".join(lines) + "\n" + wall_time_note(conditions)

    def seed0(self, variants):
        """Validation and test error of a recipe's variants on seed 0 ((run, what) pairs)."""
        lines = [
            "| seed 0 | validation error | test error | wall time |",
            "|---|---|---|---|",
        ]
        conditions = {}  # run -> the conditions it ran under
        for name, what in variants:
            if not self.has(name):
                lines.append(f"| {what} (`{name}`) | not recorded in docs/runs | | |")
                continue
            m, _, facts = self.run(name)
            conditions[name] = facts.get("conditions", "")
            lines.append(
                f"| {what} (`{name}`) | {percent(1 - m['model']['val']['accuracy'])} | "
                f"{percent(1 - m['model']['test']['accuracy'])} | {minutes(facts['wall_seconds'])} |"
            )
        return "\n".join(lines) + "\n" + wall_time_note(conditions, "Wall times")

    def fast(self):
        names = self.recorded("fast")
        accuracies = [self.run(name)[0]["model"]["test"]["accuracy"] for name in names]
        line = (
            f"Official-test accuracy over seeds {', '.join(name[-1] for name in names)}: "
            f"{', '.join(percent(a) for a in accuracies)} "
            f"(mean {percent(statistics.mean(accuracies))})."
        )
        bench = self.load("bench.json").get("fast_recipe")
        if bench:
            ours, theirs = bench["scratchnet"], bench.get("pytorch")
            line += (
                f" Timed by `make bench MNIST_DIR=DIR` (median of 3 runs, each side alternating): scratchnet "
                f"{ours['seconds']['median']:.2f} s to {percent(ours['accuracy']['median'])}"
            )
            if theirs:
                line += (
                    f", PyTorch {theirs['seconds']['median']:.2f} s to {percent(theirs['accuracy']['median'])} "
                    f"({bench['ratio']['median']:.2f}× its time)"
                )
            line += "."
        return line + "\n"

    # --- docs/performance.md ---------------------------------------------------------------------

    def bench(self):
        b = self.load("bench.json")
        s, m = b["summary"], b["machine"]
        lines = [
            f"{m['cpu']}, {m['cores']} cores, NumPy {m['numpy']}"
            + (f", OPENBLAS_CORETYPE={m['openblas_coretype']}" if m.get("openblas_coretype") else "")
            + ":",
            "",
            "| optimizer | scratchnet epoch, 1 / 2 threads | PyTorch epoch, 1 / 2 threads | "
            "ratio at 2 threads (rounds) | fraction of the 2-thread matmul peak | path |",
            "|---|---|---|---|---|---|",
        ]
        free = s["epoch_seconds"]["free"]
        for name in ("sgd", "momentum", "nesterov", "adam"):
            if f"scratchnet {name}@1" not in free:
                continue
            ours = " / ".join(f"{free[f'scratchnet {name}@{t}']['median']:.2f} s" for t in (1, 2))
            theirs = (
                " / ".join(f"{free[f'pytorch {name}@{t}']['median']:.2f} s" for t in (1, 2))
                if (f"pytorch {name}@1" in free)
                else "—"
            )
            r = s["ratio"].get(f"{name}@2")
            ratio = f"**{r['median']:.2f}** ({r['min']:.2f}–{r['max']:.2f})" if r else "—"
            path = b["paths"].get(f"scratchnet {name}@1", "").split(":")[0]
            lines.append(
                f"| {name} | {ours} | {theirs} | {ratio} | {s['fraction_of_peak'][f'{name}@2']:.2f} | {path} |"
            )
        return "\n".join(lines) + "\n"

    def overhead(self):
        b = self.load("bench.json")
        lines = ["| optimizer | batch 64 | batch 256 |", "|---|---|---|"]
        for name in b["overhead_us"]["64"]:
            lines.append(f"| {name} | {b['overhead_us']['64'][name]:.0f} µs | {b['overhead_us']['256'][name]:.0f} µs |")
        stage = b.get("stage")
        tail = (
            (
                f"\nThe train stage's own epoch (its record, SGD, 1 thread) was {stage['epoch_seconds']:.2f} s, "
                f"{stage['epoch_seconds'] / b['summary']['epoch_seconds']['free']['scratchnet sgd@1']['median']:.2f}× "
                f"the bench's in the same run; its peak memory {stage['peak_rss_mb']} MB.\n"
            )
            if stage
            else ""
        )
        return "\n".join(lines) + "\n" + tail

    def profile(self, top=4):
        """Per optimizer and batch: the untimed step, and under the line clock its products, the other lines
        and the costliest of them."""
        p = self.load("profile.json")
        m = p["machine"]
        lines = [
            f"{m['cpu']}, NumPy {m['numpy']}, 1 BLAS thread, {p['steps']} steps × 5 rounds"
            " (the untimed step: the median round)"
            + (f", OPENBLAS_CORETYPE={m['openblas_coretype']}" if m["openblas_coretype"] else "")
            + ":\n",
            "| optimizer, batch | step, untimed | under the line clock: the products | the other lines "
            "| the costliest other lines (µs per step, runs per step) |",
            "|---|---|---|---|---|",
        ]
        for r in p["profiles"]:
            costly = [line for line in r["lines"] if not line["product"]][:top]
            where = "; ".join(
                f"`{line['source'].split('  #')[0]}` {line['us']:.0f} ({line['runs']:.0f})".replace("|", "\\|")
                for line in costly
            )
            lines.append(
                f"| {r['optimizer']}, {r['batch']} | {r['untimed_us']:.0f} µs | {r['timed_products_us']:.0f} µs "
                f"| {r['timed_us'] - r['timed_products_us']:.0f} µs | {where} |"
            )
        return "\n".join(lines) + "\n"

    # --- others ----------------------------------------------------------------------------------

    def estimators(self):
        e = self.load("estimators.json")
        lines = ["| estimator | test accuracy | fit time (1 thread) |", "|---|---|---|"]
        for name, r in e["results"].items():
            lines.append(f"| {name} | {percent(r['test_accuracy'])} | {r['seconds']:.0f} s |")
        return (
            f"{e['rows']:,} digits ({e['data']}), {e['epochs']} epochs of Adam, batch {e['batch_size']}"
            + (f" ({e['conditions']})" if e.get("conditions") else "")
            + ":\n\n"
            + "\n".join(lines)
            + "\n"
        )

    def walkthrough(self):
        return "```console\n" + self.load("walkthrough.txt").rstrip() + "\n```\n"

    def photo(self, images="docs/img/"):
        p = self.load("photo-example.json")
        return (
            f"![A photographed {p['digit']}]({images}{p['photo']}) → ![what the network saw]"
            f"({images}{p['seen']})\n\n```console\n$ {p['command']}\n{p['output'].rstrip()}\n```\n"
        )

    def photos(self):
        p = self.load("photos.json")
        clean = p["clean_accuracy"]
        lines = [
            "| condition | accuracy | difference to clean digits | one global threshold |",
            "|---|---|---|---|",
            f"| clean (the digits themselves) | {percent(clean, 1)} | | |",
        ]
        for name, row in p["conditions"].items():
            lines.append(
                f"| {name} | {percent(row['accuracy'], 1)} | {100 * row['difference']:+.1f} pp "
                f"| {percent(row['global_threshold'], 1)} |"
            )
        return (
            f"{p['n']:,} test digits of the default model's own ({p['split']}) split per condition, "
            f"seed {p['seed']}:\n\n" + "\n".join(lines) + "\n"
        )

    def photo_confidence(self):
        p = self.load("photos.json")["low_confidence"]
        lines = ["| top probability below | wrong answers flagged | right answers flagged |", "|---|---|---|"]
        for row in p["table"]:
            wrong = "–" if row["wrong_flagged"] is None else percent(row["wrong_flagged"], 1)
            lines.append(f"| {row['threshold']} | {wrong} | {percent(row['right_flagged'], 1)} |")
        return "\n".join(lines) + "\n"

    def photo_summary(self):
        p = self.load("photos.json")
        rows = p["conditions"]
        worst = min(rows, key=lambda name: rows[name]["accuracy"])
        return (
            f"On {p['n']:,} test digits rendered as photos under each of {len(rows)} named conditions "
            f"(`make photos`), the default model read {percent(p['clean_accuracy'], 1)} of the digits themselves, "
            f"{percent(rows['phone']['accuracy'], 1)} of phone photos (gray paper, light from one side, noise, "
            f"blur, JPEG) and {percent(rows['phone, shadow, faint ink']['accuracy'], 1)} with a shadow band and "
            f"faint ink as well; its weakest condition is {worst} ({percent(rows[worst]['accuracy'], 1)}).\n"
        )


def wall_time_note(conditions, lead="Wall times, the mean of a row's runs"):
    """One "Wall times" line for the runs' conditions ({run: text}): the usual one, then the runs that differ."""
    said = [c for c in conditions.values() if c]
    if not said:
        return ""
    usual = max(sorted(set(said)), key=said.count)  # sorted: a tie goes the same way every time
    others = "; ".join(f"{name}: {c}" for name, c in sorted(conditions.items()) if c and c != usual)
    return f"\n{lead}: each {usual}" + (f" ({others})" if others else "") + ".\n"
