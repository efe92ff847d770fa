/** A Source the test drives by hand: one partition, records pushed one by one (no broker needed). */
import type { Source, SourceHandlers, SourceRecord } from '../../src/intake/source.ts';

export class HandSource implements Source {
  commits: { topic: string; partition: number; offset: string }[] = [];
  handlers: SourceHandlers | null = null;
  brokerUp = true;
  offset = 0;
  async start(h: SourceHandlers) {
    this.handlers = h;
    await h.onAssignment([{ topic: 't', partition: 0 }]);
  }
  async push(key: string, value: string) {
    const rec: SourceRecord = {
      topic: 't',
      partition: 0,
      offset: String(this.offset++),
      key: Buffer.from(key),
      value: Buffer.from(value),
    };
    await this.handlers!.onBatch([rec], {
      topic: 't',
      partition: 0,
      heartbeat: async () => {},
      isRunning: () => true,
      resolveOffset: () => {},
    });
  }
  async commit(offsets: { topic: string; partition: number; offset: string }[]) {
    this.commits.push(...offsets);
  }
  rewinds: { topic: string; partition: number }[] = [];
  async rewind(tp: { topic: string; partition: number }) {
    this.rewinds.push(tp);
  }
  async ping() {
    if (!this.brokerUp) throw new Error('broker down');
  }
  pause() {}
  async stop() {}
}
