// Regenerate src/chain/abi.ts (typed `as const` ABIs for viem) from contracts/core and contracts/testing.
// Run after changing a contract: npm run chain:abi. test/chain-compile.test.ts fails while it is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { abiModuleSource } from '../src/chain/abi-source.ts';
import { ROOT } from '../src/chain/compile.ts';

const out = join(ROOT, 'src/chain/abi.ts');
writeFileSync(out, await abiModuleSource());
console.log(`wrote ${out}`);
