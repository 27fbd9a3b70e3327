// Parameter initialisation: each parameter's values are a pure function of (seed, its name), so
// adding a layer never changes another layer's initial weights.
import { normals, rngStream, subStream, uniforms } from '../../engine/rng.ts';
import { parameter, type Tensor } from '../../engine/tensor.ts';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** U(-bound, bound) with bound = 1/sqrt(fanIn): PyTorch's default for Linear and Conv2d. */
export function uniformParam(seed: number, name: string, shape: number[], fanIn: number): Tensor {
  const bound = Math.fround(1 / Math.sqrt(fanIn));
  const u = uniforms(subStream(rngStream(seed, 'init'), name), 0, size(shape));
  // 2u - 1 is exact for 24-bit uniforms; one rounding for the scale.
  for (let i = 0; i < u.length; i++) u[i] = (2 * u[i] - 1) * bound;
  return parameter(name, u, shape);
}

export function normalParam(seed: number, name: string, shape: number[], std: number): Tensor {
  const z = normals(subStream(rngStream(seed, 'init'), name), 0, size(shape));
  const s = Math.fround(std);
  for (let i = 0; i < z.length; i++) z[i] = z[i] * s;
  return parameter(name, z, shape);
}

export function constParam(name: string, shape: number[], value: number): Tensor {
  return parameter(name, new Float32Array(size(shape)).fill(value), shape);
}
