// The veritrain SDK (see client.ts): what `veritrain job ...` uses, for programs that post and
// collect training jobs themselves.
export { createClient, JobStateError, vtt } from './client.ts';
export type { ClientOptions, FetchedResult, JobStatus, SubmitOptions, SubmitResult, VeritrainClient, WatchOptions } from './client.ts';
export type { JobUpdate, ProgressUpdate, Stage, StageUpdate } from './stages.ts';
export { NetworkError } from './peer.ts';
export { prepareJobSpec, type PreparedJob } from './publish.ts';
