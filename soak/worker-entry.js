// Workers start without the main thread's TypeScript hooks: register them, then run.
require('tsx/cjs')
require('./worker.ts')
