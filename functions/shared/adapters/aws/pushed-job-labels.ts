/** Labels of every series a worker on Lambda pushes: the job and service the toilless rules and dashboard select. */
export const PUSHED_JOB_LABELS = { job: 'toilless', service: 'toilless' } as const;
