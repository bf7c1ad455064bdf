import { doraRecomputeBenchmark } from './dora-recompute.js';
