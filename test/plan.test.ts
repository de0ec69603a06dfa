import t from 'tap';
import { decodePlan, encodePlan, PLAN_MAGIC, PLAN_MAX_BYTES, PlanError, Rec, rec, str, u32, u64, i32 } from '../lib/plan';

t.test('round trip keeps every record and field', async (t) => {
  const buf = encodePlan([rec(Rec.ROOTFS, str('/r')), rec(Rec.RLIMIT, u32(7), u64(1024n), u64((1n << 64n) - 1n)), rec(Rec.OOM_SCORE_ADJ, i32(-500))]);
  t.equal(buf.readUInt32LE(0), PLAN_MAGIC);
  t.equal(buf.readUInt32LE(8), buf.length, 'total length in the header');
  const recs = decodePlan(buf);
  t.same(recs.map((r) => r.type), [Rec.ROOTFS, Rec.RLIMIT, Rec.OOM_SCORE_ADJ]);
  t.equal(recs[0].payload.toString(), '/r\0');
  t.equal(recs[1].payload.readUInt32LE(0), 7);
  t.equal(recs[1].payload.readBigUInt64LE(12), (1n << 64n) - 1n);
  t.equal(recs[2].payload.readInt32LE(0), -500);
});

t.test('the encoder refuses what it cannot carry exactly (CVE-2021-43784 class)', async (t) => {
  t.throws(() => encodePlan([rec(Rec.ENV, str('A=\0B'))]), PlanError, 'embedded NUL');
  t.throws(() => encodePlan([rec(Rec.PRESERVE_FDS, u32(2 ** 32))]), PlanError, 'u32 overflow');
  t.throws(() => encodePlan([rec(Rec.PRESERVE_FDS, u32(-1))]), PlanError, 'negative u32');
  t.throws(() => encodePlan([rec(Rec.RLIMIT, u32(0), u64(-1n), u64(0n))]), PlanError, 'negative u64');
  t.throws(() => encodePlan([rec(Rec.OOM_SCORE_ADJ, i32(2 ** 31))]), PlanError, 'i32 overflow');
  const big = 'x'.repeat(1 << 20);
  t.throws(() => encodePlan([1, 2, 3, 4, 5].map(() => rec(Rec.ENV, str(big)))), /larger than/, 'over the size limit');
  t.ok(encodePlan([rec(Rec.ENV, str('x'.repeat(PLAN_MAX_BYTES - 1000)))]), 'just under the limit is fine');
});

t.test('the decoder rejects malformed plans', async (t) => {
  const good = encodePlan([rec(Rec.ROOTFS, str('/r'))]);
  const bad = Buffer.from(good); bad.writeUInt32LE(0, 0);
  t.throws(() => decodePlan(bad), /magic/);
  const ver = Buffer.from(good); ver.writeUInt16LE(9, 4);
  t.throws(() => decodePlan(ver), /version/);
  t.throws(() => decodePlan(good.subarray(0, good.length - 1)), /length/);
  const long = Buffer.from(good); long.writeUInt32LE(1000, 20);
  t.throws(() => decodePlan(long), /out of bounds/);
});
