// The helper thread of tensorCommits (commit.ts): sleeps on the wake counter, then takes subtree
// tasks of the newest job from the shared claim word until none are left.
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { runCommitTasks, warmHashing, type CommitJob } from './commit.ts';

const { ctl, port } = workerData as { ctl: Int32Array; port: MessagePort };
warmHashing(); // before the first job, not during it
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 2, seen);
  seen = Atomics.load(ctl, 2);
  let job: CommitJob | undefined;
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) job = m.message as CommitJob;
  if (job) runCommitTasks(ctl, job);
}
