"""igx batch end to end: a run killed with SIGKILL at several points and rerun ends with the records
of an uninterrupted run (same ids, no duplicates, same numbers); torn files are repaired; a log of
other options is refused; shards merged equal one run; 2 MPI ranks equal one process. igx sweep
on the same machinery: killed and resumed, and on 2 ranks, it writes one process's study.

Run by ctest: /usr/bin/python3 tests/python/test_batch.py, with $IGX_CLI the built igx and
$IGX_TEST_MODELS the test models (tests/models/export_test_models.py).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import numpy as np

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("IGX_CLI", os.path.join(SOURCE, "build", "igx"))
MODELS = os.environ.get("IGX_TEST_MODELS", os.path.join(SOURCE, "build", "tests", "models"))
MLP = os.path.join(MODELS, "mlp.pt")
TINY_TEXT = os.path.join(MODELS, "tiny-text")

# Fixed trapezoid steps make each input take milliseconds, long enough to be killed mid-run.
SLOW = ["--method", "riemann_trapezoid", "-n", "6000", "--batch-size", "512"]


def comparable(record):
    """A record without its wall times, the only fields two runs may differ in."""
    record = json.loads(json.dumps(record))
    record.pop("seconds", None)
    record.get("run", {}).pop("seconds", None)
    return record


def read_log(path):
    """(header, records) of a results file, failing on anything but whole JSON lines."""
    with open(path, "rb") as f:
        data = f.read()
    assert data.endswith(b"\n"), f"{path} does not end with a whole line"
    lines = [json.loads(line) for line in data.decode().splitlines()]
    return lines[0], lines[1:]


class BatchTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="igx_batch_")
        rows = np.random.default_rng(7).standard_normal((24, 8)).astype(np.float32)
        self.npy = os.path.join(self.folder, "rows.npy")
        np.save(self.npy, rows)
        self.texts = os.path.join(self.folder, "texts.jsonl")
        words = ["hello", "world", "igx", "probes", "this", "model", "."]
        with open(self.texts, "w") as f:
            for k in range(10):
                text = " ".join(words[(k + j) % len(words)] for j in range(1 + k % 5))
                f.write(json.dumps({"id": f"t{k}", "text": text, "label": k % 2}) + "\n")

    def tearDown(self):
        shutil.rmtree(self.folder)

    def path(self, name):
        return os.path.join(self.folder, name)

    def batch(self, *arguments, check=True):
        result = subprocess.run([CLI, "batch", *arguments], capture_output=True, text=True)
        if check and result.returncode != 0:
            self.fail(f"igx batch {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def assert_same_records(self, path, reference):
        header, records = read_log(path)
        reference_header, reference_records = read_log(reference)
        self.assertEqual(header, reference_header)
        ids = [record["id"] for record in records]
        self.assertEqual(len(ids), len(set(ids)), "duplicate records")
        self.assertEqual(ids, [record["id"] for record in reference_records])
        for record, expected in zip(records, reference_records):
            self.assertEqual(comparable(record), comparable(expected), record["id"])

    def test_records_are_the_explanations_with_ids(self):
        out = self.path("texts.results.jsonl")
        self.batch("--model", TINY_TEXT, "--data", self.texts, "--out", out, "--chunk-size", "3", "--threads", "1")
        header, records = read_log(out)
        self.assertEqual(header["schema"], "igx.records/1")
        self.assertEqual(header["run"]["data"]["inputs"], 10)
        self.assertEqual([r["id"] for r in records], [f"t{k}" for k in range(10)])
        self.assertEqual([r["item"] for r in records], list(range(10)))
        for record in records:
            self.assertEqual(record["schema"], "igx.explanation/1")
            self.assertEqual(record["label"], record["item"] % 2)
            example = record["examples"][0]
            self.assertEqual(example["id"], record["id"])
            self.assertTrue(example["certified"])
            # Completeness: the scores add up to F(x) - F(x') within the certified tolerance.
            self.assertAlmostEqual(sum(example["token_scores"]), example["output_input"] - example["output_baseline"],
                                   delta=0.01 * abs(example["output_input"] - example["output_baseline"]) + 1e-6)
        with open(self.path("texts.results.summary.json")) as f:
            summary = json.load(f)
        self.assertEqual(summary["records"], 10)
        self.assertEqual(summary["certified_fraction"], 1.0)
        self.assertEqual(summary["steps"]["max"], max(r["examples"][0]["steps"] for r in records))

        # The record of one input equals igx explain on that input alone (chunks of 1).
        single = self.path("single.jsonl")
        self.batch("--model", TINY_TEXT, "--data", self.texts, "--out", single, "--chunk-size", "1", "--threads", "1")
        explained = self.path("explain.json")
        subprocess.run([CLI, "explain", "--model", TINY_TEXT, records[4]["examples"][0]["text"], "--out", explained,
                        "--out-dir", self.path("explain"), "--threads", "1"], check=True, capture_output=True)
        with open(explained) as f:
            alone = json.load(f)["examples"][0]
        batched = read_log(single)[1][4]["examples"][0]
        self.assertEqual(batched["token_scores"], alone["token_scores"])
        self.assertEqual(batched["steps"], alone["steps"])

    def test_a_folder_of_pictures_and_a_jsonl_of_image_paths(self):
        samples = os.path.join(SOURCE, "models", "mnist-cnn", "samples")
        pictures = self.path("pictures")
        os.makedirs(pictures)
        names = ["digit_3_0.png", "digit_7_1.png", "digit_0_0.png"]
        for name in names:
            shutil.copy(os.path.join(samples, name), pictures)
        with open(os.path.join(pictures, "README.md"), "w") as f:
            f.write("not a picture\n")
        out = self.path("pictures.jsonl")
        self.batch("--model", "mnist-cnn", "--data", pictures, "--out", out, "--threads", "1", "--steps", "16")
        _, records = read_log(out)
        self.assertEqual([r["id"] for r in records], sorted(names))
        with open(self.path("images.jsonl"), "w") as f:
            for name in sorted(names):
                f.write(json.dumps({"id": name, "image": os.path.join("pictures", name)}) + "\n")
        listed = self.path("listed.jsonl")
        self.batch("--model", "mnist-cnn", "--data", self.path("images.jsonl"), "--out", listed, "--threads", "1",
                   "--steps", "16")
        for a, b in zip(records, read_log(listed)[1]):
            self.assertEqual(a["examples"][0]["attributions"], b["examples"][0]["attributions"])
            self.assertEqual(a["examples"][0]["prediction"], int(a["id"].split("_")[1]))  # the shipped samples

    def test_kill_at_several_points_then_resume_equals_an_uninterrupted_run(self):
        common = ["--model", MLP, "--data", self.npy, "--chunk-size", "2", "--threads", "1", *SLOW]
        reference = self.path("reference.jsonl")
        self.batch(*common, "--out", reference)
        out = self.path("killed.jsonl")
        # SIGKILL once the file has this many lines (1: only the header), each time resuming the last.
        for lines in [1, 4, 9, 16, 22]:
            process = subprocess.Popen([CLI, "batch", *common, "--out", out], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            while process.poll() is None:
                if os.path.exists(out):
                    with open(out, "rb") as f:
                        if f.read().count(b"\n") >= lines:
                            break
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
            process.wait()
        result = self.batch(*common, "--out", out)
        self.assertIn("were already done", result.stdout)
        self.assert_same_records(out, reference)

    def test_torn_files_are_repaired(self):
        common = ["--model", MLP, "--data", self.npy, "--chunk-size", "4", "--threads", "1"]
        reference = self.path("reference.jsonl")
        self.batch(*common, "--out", reference)
        with open(reference, "rb") as f:
            whole = f.read()
        ends = [k + 1 for k, byte in enumerate(whole) if byte == ord("\n")]
        out = self.path("torn.jsonl")
        # A torn header, the header alone, records cut mid-chunk, mid-line and at a line's end.
        for cut in [ends[0] // 2, ends[0], ends[3] + 17, ends[6] - 1, ends[8], len(whole) - 5]:
            with open(out, "wb") as f:
                f.write(whole[:cut])
            result = self.batch(*common, "--out", out)
            if cut not in ends and cut > ends[0]:
                self.assertIn("cut off a torn last line", result.stdout)
            self.assert_same_records(out, reference)

    def test_another_run_is_refused_unless_forced(self):
        out = self.path("results.jsonl")
        self.batch("--model", MLP, "--data", self.npy, "--out", out, "--threads", "1")
        with open(out, "rb") as f:
            before = f.read()
        result = self.batch("--model", MLP, "--data", self.npy, "--out", out, "--tolerance", "0.001", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("holds the records of another run", result.stderr)
        self.assertIn("tolerance", result.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), before)
        other = self.path("other.npy")
        np.save(other, np.ones((24, 8), np.float32))  # as many inputs, other values
        result = self.batch("--model", MLP, "--data", other, "--out", out, check=False)
        self.assertIn("run.data.fingerprint is", result.stderr)
        np.save(other, np.ones((3, 8), np.float32))
        self.batch("--model", MLP, "--data", other, "--out", out, "--force")
        self.assertEqual(len(read_log(out)[1]), 3)
        with open(self.path("mine.jsonl"), "w") as f:
            f.write("{\"a\": 1}\n")
        result = self.batch("--model", MLP, "--data", other, "--out", self.path("mine.jsonl"), check=False)
        self.assertIn("is not a record log", result.stderr)

    def test_shards_merged_equal_one_run(self):
        common = ["--model", MLP, "--data", self.npy, "--chunk-size", "3", "--threads", "1"]
        reference = self.path("reference.jsonl")
        self.batch(*common, "--out", reference)
        out = self.path("sharded.jsonl")
        for shard in ["2/3", "0/3"]:
            self.batch(*common, "--out", out, "--shard", shard)
        result = self.batch("--merge", "--out", out, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("shard 1 of 3 is missing", result.stderr)
        self.batch(*common, "--out", out, "--shard", "1/3")
        _, part = read_log(self.path("sharded.shard-1-of-3.jsonl"))
        self.assertEqual([r["item"] for r in part], [3, 4, 5, 12, 13, 14, 21, 22, 23])
        self.batch("--merge", "--out", out)
        self.assert_same_records(out, reference)

    @unittest.skipUnless(shutil.which("mpirun"), "mpirun is not installed")
    def test_two_mpi_ranks_equal_one_process(self):
        common = ["--model", MLP, "--data", self.npy, "--chunk-size", "2", "--threads", "1", *SLOW]
        reference = self.path("reference.jsonl")
        self.batch(*common, "--out", reference)
        out = self.path("mpi.jsonl")
        launcher = ["mpirun", "-np", "2", "--oversubscribe"]
        if os.geteuid() == 0:
            launcher.append("--allow-run-as-root")
        result = subprocess.run([*launcher, CLI, "batch", *common, "--out", out], capture_output=True, text=True)
        if "built without MPI" in result.stderr:
            self.skipTest("igx was built without MPI (-DIGX_MPI=OFF)")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("on 2 ranks", result.stdout)
        self.assert_same_records(out, reference)
        # An error on one rank only (rank 0 refuses a summary file it did not write) stops them all.
        with open(self.path("refused.summary.json"), "w") as f:
            f.write("{\"mine\": 1}\n")
        result = subprocess.run([*launcher, CLI, "batch", *common, "--out", self.path("refused.jsonl")],
                                capture_output=True, text=True, timeout=300)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("is not igx batch's", result.stderr)


def csv_without_seconds(path):
    """The rows of a sweep CSV file without its last column (wall seconds)."""
    with open(path) as f:
        return [line.rsplit(",", 1)[0] for line in f.read().splitlines()]


class SweepTest(unittest.TestCase):
    """igx sweep on the same machinery: killed and rerun, or on 2 MPI ranks, it writes the CSV
    files of one uninterrupted process."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="igx_sweep_")
        self.texts = os.path.join(self.folder, "texts.jsonl")
        words = ["hello", "world", "igx", "probes", "this", "model", "."]
        with open(self.texts, "w") as f:
            for k in range(12):
                text = " ".join(words[(k + j) % len(words)] for j in range(1 + k % 6))
                f.write(json.dumps({"id": f"t{k}", "text": text, "label": k % 2}) + "\n")
        self.common = ["sweep", "--model", TINY_TEXT, "--data", self.texts, "--n", "12", "--steps", "4,16,3000",
                       "--rules", "riemann_trapezoid,riemann_left", "--tolerances", "0.05,0.001", "--threads", "1"]
        self.reference = os.path.join(self.folder, "reference")
        subprocess.run([CLI, *self.common, "--out-dir", self.reference], check=True, capture_output=True)

    def tearDown(self):
        shutil.rmtree(self.folder)

    def assert_same_study(self, out):
        for name in ["sweep.csv", "adaptive.csv"]:
            self.assertEqual(csv_without_seconds(os.path.join(out, name)),
                             csv_without_seconds(os.path.join(self.reference, name)), name)
        with open(os.path.join(out, "summary.json")) as f:
            self.assertEqual(json.load(f)["instances"], 12)

    def test_killed_sweep_is_finished_by_running_it_again(self):
        out = os.path.join(self.folder, "killed")
        log = os.path.join(out, "records.jsonl")
        for lines in [3, 8]:
            process = subprocess.Popen([CLI, *self.common, "--out-dir", out], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            while process.poll() is None:
                if os.path.exists(log):
                    with open(log, "rb") as f:
                        if f.read().count(b"\n") >= lines:
                            break
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
            process.wait()
        result = subprocess.run([CLI, *self.common, "--out-dir", out], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assert_same_study(out)
        other = subprocess.run([CLI, *self.common[:-2], "--threads", "1", "--steps", "8", "--out-dir", out],
                               capture_output=True, text=True)
        # A finished study is not replaced without --force (its sweep.csv exists), whatever the options.
        self.assertEqual(other.returncode, 2, other.stderr)
        self.assertIn("sweep.csv' already exists", other.stderr)

    def test_shards_merged_then_rerun_write_the_study_of_one_process(self):
        out = os.path.join(self.folder, "sharded")
        for shard in ["1/2", "0/2"]:
            result = subprocess.run([CLI, *self.common, "--out-dir", out, "--shard", shard], capture_output=True,
                                    text=True)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertIn("igx batch --merge", result.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")))
        subprocess.run([CLI, "batch", "--merge", "--out", os.path.join(out, "records.jsonl")], check=True,
                       capture_output=True)
        result = subprocess.run([CLI, *self.common, "--out-dir", out], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assert_same_study(out)

    @unittest.skipUnless(shutil.which("mpirun"), "mpirun is not installed")
    def test_two_mpi_ranks_write_the_study_of_one_process(self):
        out = os.path.join(self.folder, "mpi")
        launcher = ["mpirun", "-np", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
        result = subprocess.run([*launcher, CLI, *self.common, "--out-dir", out], capture_output=True, text=True)
        if "built without MPI" in result.stderr:
            self.skipTest("igx was built without MPI (-DIGX_MPI=OFF)")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assert_same_study(out)


if __name__ == "__main__":
    unittest.main()
