// encodePlan writes into one Buffer sized in a first pass: a large plan must come out byte for byte as
// the straightforward encoding (header, then per record an 8-byte head and its fields one after the
// other), decode back to the very fields it was made of, and fail with the same errors in the same order.
import t from 'tap';
import {
  decodePlan, encodePlan, Field, PLAN_MAGIC, PLAN_MAX_BYTES, PLAN_MAX_RECORDS, PLAN_VERSION, PlanRecord,
  Rec, rec, str, u32, u64, i32,
} from '../lib/plan';

/** The reference: every field its own Buffer, everything concatenated (reserved bytes zero). */
function referenceEncode(records: PlanRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const payload = Buffer.concat(r.fields.map((f) => {
      const b = Buffer.alloc('u64' in f ? 8 : 4);
      if ('u32' in f) b.writeUInt32LE(f.u32);
      else if ('i32' in f) b.writeInt32LE(f.i32);
      else if ('u64' in f) b.writeBigUInt64LE(f.u64);
      else return Buffer.from(f.str + '\0', 'utf8');
      return b;
    }));
    const head = Buffer.alloc(8);
    head.writeUInt16LE(r.type, 0);
    head.writeUInt32LE(payload.length, 4);
    parts.push(head, payload);
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(PLAN_MAGIC, 0);
  header.writeUInt16LE(PLAN_VERSION, 4);
  header.writeUInt32LE(16 + body.length, 8);
  header.writeUInt32LE(records.length, 12);
  return Buffer.concat([header, body]);
}

/** Read a payload back into fields of the kinds `like` has (the decoder knows no field kinds). */
function readFields(payload: Buffer, like: Field[]): Field[] {
  const out: Field[] = [];
  let off = 0;
  for (const f of like) {
    if ('u32' in f) { out.push(u32(payload.readUInt32LE(off))); off += 4; }
    else if ('i32' in f) { out.push(i32(payload.readInt32LE(off))); off += 4; }
    else if ('u64' in f) { out.push(u64(payload.readBigUInt64LE(off))); off += 8; }
    else {
      const end = payload.indexOf(0, off);
      if (end < 0) throw new Error('unterminated string');
      out.push(str(payload.toString('utf8', off, end)));
      off = end + 1;
    }
  }
  if (off !== payload.length) throw new Error(`${payload.length - off} bytes left in the payload`);
  return out;
}

/** A plan shaped like a real one with a big seccomp profile, plus every edge a field can have. */
function largePlan(): PlanRecord[] {
  const records: PlanRecord[] = [
    rec(Rec.ROOTFS, str('/var/lib/containers/storage/overlay/' + 'a'.repeat(64) + '/merged')),
    rec(Rec.NAMESPACE, u32(0x00020000), str('')),
    rec(Rec.MOUNT, u32(2 | 4 | 8), u32(0), u32(0), str('proc'), str('proc'), str('/proc'), str('')),
    rec(Rec.RLIMIT, u32(7), u64(0n), u64((1n << 64n) - 1n)),
    rec(Rec.OOM_SCORE_ADJ, i32(-1000)), rec(Rec.OOM_SCORE_ADJ, i32(0x7fffffff)), rec(Rec.OOM_SCORE_ADJ, i32(-0x80000000)),
    rec(Rec.NO_NEW_PRIVS), rec(Rec.DEBUG),
    rec(Rec.HOSTNAME, str('hôte-Ω-日本-🙂')), // 2-, 3- and 4-byte UTF-8
    rec(Rec.ENV, str('LONE=\ud800')), // a lone surrogate: encoded as U+FFFD by both
    rec(Rec.CAPS, u64(0x1ffffffffffn), u64(0n), u64(1n), u64(2n ** 40n), u64(0xffffffffn)),
    rec(Rec.SECCOMP, u32(2), u32(1), u32(0), str(''), str('')),
    rec(Rec.SECCOMP_ARCH, str('x86_64')), rec(Rec.SECCOMP_ARCH, str('x86')), rec(Rec.SECCOMP_ARCH, str('x32')),
  ];
  for (let i = 0; i < 441; i++) {
    const args = i % 7 === 0 ? [u32(i % 6), u32(4), u64(BigInt(i) << 33n), u64(0xffffffffffffffffn)] : [];
    records.push(rec(Rec.SECCOMP_RULE, u32(0x7fff0000), u32(1), u32(args.length / 4), ...args, str(`syscall_${i}`)));
  }
  for (let i = 0; i < 64; i++) records.push(rec(Rec.ENV, str(`VAR_${i}=${'v'.repeat(i * 37)}`)));
  records.push(rec(Rec.ARG, str('/bin/sh')), rec(Rec.ARG, str('-c')), rec(Rec.ARG, str('x'.repeat(100000))));
  records.push(rec(Rec.CONTAINER_ID, str('hull-plan-encode')));
  return records;
}

t.test('a large plan is byte for byte the reference encoding and decodes back to its fields', async (t) => {
  const records = largePlan();
  const buf = encodePlan(records);
  const ref = referenceEncode(records);
  t.equal(buf.length, ref.length, 'same size');
  t.ok(buf.equals(ref), 'same bytes (reserved bytes zero)');
  t.equal(buf.readUInt32LE(8), buf.length, 'total length in the header');
  t.equal(buf.readUInt32LE(12), records.length, 'record count in the header');
  const decoded = decodePlan(buf);
  t.equal(decoded.length, records.length, 'every record decoded');
  let mismatches = 0;
  decoded.forEach((d, i) => {
    if (d.type !== records[i].type) { mismatches++; t.fail(`record ${i}: type ${d.type}, expected ${records[i].type}`); }
    const expect = records[i].fields.map((f) => ('str' in f ? str(Buffer.from(f.str, 'utf8').toString('utf8')) : f));
    const got = readFields(d.payload, records[i].fields);
    if (JSON.stringify(got, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)) !== JSON.stringify(expect, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))) {
      mismatches++;
      t.fail(`record ${i} (type ${d.type}) does not decode back to its fields`);
    }
  });
  t.equal(mismatches, 0, 'every record decodes back to the fields it was made of');
  t.same(readFields(decoded[9].payload, records[9].fields), [str('hôte-Ω-日本-🙂')], 'multi-byte UTF-8 intact');
});

t.test('encoding twice gives the same bytes (no state kept between calls)', async (t) => {
  const records = largePlan();
  t.ok(encodePlan(records).equals(encodePlan(records)));
  t.ok(encodePlan([]).equals(referenceEncode([])), 'an empty plan is its header');
});

t.test('limits and errors, in the order a one-pass encoder meets them', async (t) => {
  const big = str('x'.repeat(1 << 20));
  // the size limit is met at the record that crosses it, before any later bad field is looked at
  t.throws(() => encodePlan([...[1, 2, 3, 4, 5].map(() => rec(Rec.ENV, big)), rec(Rec.PRESERVE_FDS, u32(-1))]),
    { name: 'PlanError', message: `plan is larger than ${PLAN_MAX_BYTES} bytes` }, 'size first when it comes first');
  // a bad field in an earlier record is met before the size limit
  t.throws(() => encodePlan([rec(Rec.PRESERVE_FDS, u32(2 ** 32)), ...[1, 2, 3, 4, 5].map(() => rec(Rec.ENV, big))]),
    { name: 'PlanError', message: `value ${2 ** 32} does not fit in 32 bits` }, 'bad field first when it comes first');
  t.throws(() => encodePlan([rec(Rec.ENV, str('ok')), rec(Rec.ENV, str('A=\0B'))]),
    { name: 'PlanError', message: 'string contains a NUL byte: "A=\\u0000B"' }, 'NUL byte message');
  t.throws(() => encodePlan([rec(Rec.RLIMIT, u32(0), u64(0n), u64(1n << 64n))]),
    { name: 'PlanError', message: `value ${1n << 64n} does not fit in 64 bits` }, 'u64 message');
  t.throws(() => encodePlan([rec(Rec.OOM_SCORE_ADJ, i32(1.5))]),
    { name: 'PlanError', message: 'value 1.5 does not fit in 32 bits' }, 'i32 message');
  t.throws(() => encodePlan([rec(0x10000 as Rec)]),
    { name: 'PlanError', message: 'record type 65536 does not fit in 16 bits' }, 'record type over 16 bits');
  t.throws(() => encodePlan(Array.from({ length: PLAN_MAX_RECORDS + 1 }, () => rec(Rec.DEBUG))),
    { name: 'PlanError', message: `plan has ${PLAN_MAX_RECORDS + 1} records (max ${PLAN_MAX_RECORDS})` }, 'record count');
  t.equal(encodePlan(Array.from({ length: PLAN_MAX_RECORDS }, () => rec(Rec.DEBUG))).length, 16 + 8 * PLAN_MAX_RECORDS,
    'the most records there may be');
  // exactly PLAN_MAX_BYTES is allowed, one more byte is not (multi-byte characters counted in bytes)
  const fill = PLAN_MAX_BYTES - 16 - 8 - 1; // odd: 2-byte characters and one ASCII byte
  const text = 'é'.repeat((fill - 1) / 2) + 'x';
  const exact = encodePlan([rec(Rec.ENV, str(text))]);
  t.equal(exact.length, PLAN_MAX_BYTES, 'a plan of exactly the limit');
  t.ok(exact.equals(referenceEncode([rec(Rec.ENV, str(text))])), 'and its bytes');
  t.throws(() => encodePlan([rec(Rec.ENV, str(text + 'x'))]), { name: 'PlanError', message: `plan is larger than ${PLAN_MAX_BYTES} bytes` },
    'one byte over the limit');
});
