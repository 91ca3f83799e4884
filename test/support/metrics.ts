// The extender's /metrics read by the e2e tests.

/** The sum of every sample whose line starts with `prefix` (a name, or a name with some of its labels). */
export async function metricSum(extenderUrl: string, prefix: string): Promise<number> {
  const text = await (await fetch(`${extenderUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) sum += Number(line.split(' ').pop());
  return sum;
}
