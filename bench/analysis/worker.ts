// A worker thread of the analysis: simulates the runs it is sent (a range of one cell's runs) and posts back
// their outcomes. Each run is seeded by (cell, run) alone, so the split between workers changes nothing.

import { parentPort } from 'node:worker_threads';
import { CellModel, METHODS, simulate, type Cell } from './model.ts';

export interface Task {
  id: number;
  cell: Cell;
  from: number;
  to: number;
  seed: number;
  exactDecide: boolean;
}

export interface TaskResult {
  id: number;
  /** Per run and method (judge, flagger, ztest in turn): the look that rolled back, 0 for none. */
  at: Int32Array<ArrayBuffer>;
  /** Per run and method: the bad requests served until the rollback, or in the whole hour. */
  bad: Float64Array<ArrayBuffer>;
  /** Per run: the first look with a candidate request. */
  firstRequest: Int32Array<ArrayBuffer>;
  /** Per run: the judge's failing test, '' when it did not roll back. */
  judgeTest: string[];
}

const models = new Map<string, CellModel>();

parentPort!.on('message', (task: Task) => {
  let model = models.get(task.cell.key);
  if (!model) models.set(task.cell.key, (model = new CellModel(task.cell)));
  const n = task.to - task.from;
  const out: TaskResult = {
    id: task.id,
    at: new Int32Array(n * 3),
    bad: new Float64Array(n * 3),
    firstRequest: new Int32Array(n),
    judgeTest: [],
  };
  for (let i = 0; i < n; i++) {
    const r = simulate(model, task.seed, task.from + i, task);
    METHODS.forEach((m, j) => {
      out.at[i * 3 + j] = r.at[m];
      out.bad[i * 3 + j] = r.bad[m];
    });
    out.firstRequest[i] = r.firstRequest;
    out.judgeTest.push(r.judgeTest ?? '');
  }
  parentPort!.postMessage(out, [out.at.buffer, out.bad.buffer, out.firstRequest.buffer]);
});
