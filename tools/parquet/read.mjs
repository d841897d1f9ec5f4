// Reads a Parquet file with hyparquet, a reader independent of the Go writer
// pkg/compact uses, and prints {"schema":[…],"rowGroups":N,"rows":[…]} as
// JSON. Timestamps print as RFC 3339 strings, 64-bit integers as strings.
//
//   node tools/parquet/read.mjs FILE
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';

const file = process.argv[2];
if (!file) {
  console.error('usage: node read.mjs FILE');
  process.exit(2);
}
const buf = await asyncBufferFromFile(file);
const metadata = await parquetMetadataAsync(buf);
const rows = await parquetReadObjects({ file: buf, metadata });
const schema = metadata.schema.slice(1).map((s) => ({
  name: s.name,
  type: s.type,
  repetition: s.repetition_type,
  logical: s.logical_type ? JSON.parse(JSON.stringify(s.logical_type, (_, v) => (typeof v === 'bigint' ? String(v) : v))) : null,
}));
const codecs = [...new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data.codec)))];
process.stdout.write(JSON.stringify({ schema, codecs, rowGroups: metadata.row_groups.length, rows }, (_, v) => {
  if (typeof v === 'bigint') return String(v);
  return v;
}) + '\n');
