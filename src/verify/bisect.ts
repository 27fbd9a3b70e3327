// The search every dispute level runs: over a sequence both sides computed (step states, op
// outputs, scalar steps), find the first index where they disagree, asking about one index at a
// time. On chain each question is a move; here it is a callback, so the same search drives the
// off-chain tests and the node software.

/**
 * The first index in [0, n) at which `differs` is true, given that it is false before that index
 * and true from it on (once two runs diverge, later states keep differing) and true at n - 1.
 * Asks at most ceil(log2 n) questions.
 */
export function firstDivergence(n: number, differs: (i: number) => boolean): { index: number; questions: number } {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`firstDivergence needs n >= 1, got ${n}`);
  let lo = 0, hi = n - 1, questions = 0; // the answer lies in [lo, hi]
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    questions++;
    if (differs(mid)) hi = mid;
    else lo = mid + 1;
  }
  return { index: lo, questions };
}
