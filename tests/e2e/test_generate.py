"""`loom generate` as a user runs it: a real process loading a backend .so
and running the serving engine. A stop string cuts the text exactly where it
first appears in the unstopped greedy text and never shows any part of it;
the emulated CUDA backend prints the CPU backend's greedy text."""
import subprocess
import unittest

from harness import CPU_SO, CUDA_EMU_CONFIG, CUDA_EMU_SO, LOOM, MODEL, require_cuda_emu, require_model

PROMPT = "The three primary colors are"


def generate(*extra, backend=CPU_SO, config='{"max_context": 512}', timeout=600):
    args = [LOOM, "generate", "--backend", backend, "--model", MODEL, "--config-json", config,
            "--prompt", PROMPT, "--temperature", "0", *extra]
    done = subprocess.run(args, capture_output=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}")
    return done.stdout.decode(), done.stderr.decode()


class GenerateTest(unittest.TestCase):
    def setUp(self):
        require_model(self)

    def test_stop_string_cuts_before_it_and_never_shows_it(self):
        full, err = generate("-n", "48", "--ignore-eos")
        self.assertIn("| length]", err)
        self.assertGreater(len(full), 40, full)
        # Stop strings taken from the middle of the text, so that they start
        # inside a token and span several.
        for start in (len(full) // 3, len(full) // 2):
            stop = full[start:start + 7]
            if not stop.strip():
                continue
            with self.subTest(stop=stop):
                cut, err = generate("-n", "48", "--ignore-eos", "--stop", stop)
                self.assertEqual(cut, full[:full.index(stop)])
                self.assertIn("| stop]", err)

    def test_cuda_emulated_backend_prints_the_cpu_text(self):
        require_cuda_emu(self)
        # The CPU backend with the emulated run's geometry (graph sizes are a CUDA key).
        cpu, _ = generate("-n", "6", config='{"max_context": 256, "max_num_seqs": 2, "max_batch_tokens": 64}')
        cuda, err = generate("-n", "6", backend=CUDA_EMU_SO, config=CUDA_EMU_CONFIG, timeout=900)
        self.assertTrue(cpu)
        self.assertEqual(cuda, cpu, err)


if __name__ == "__main__":
    unittest.main()
