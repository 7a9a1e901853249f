// Random key streams for the detectors' property tests: skewed over a small key space, so that
// some keys are hot and many churn.
import fc from "fast-check";

export const skewedStream = fc
  .tuple(fc.integer({ min: 1, max: 400 }), fc.array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 6000 }))
  .map(([space, draws]) => draws.map((d) => `k${Math.floor(space * Math.pow(d / 1_000_000, 3))}`));
