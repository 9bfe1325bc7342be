// Retries an assertion until it passes or the deadline is over; the last failure is
// what the test reports. One copy for every test that waits on the kernel or an agent.
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
