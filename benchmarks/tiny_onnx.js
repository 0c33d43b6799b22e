// Writes the smallest useful ONNX model: y = x + x on a float32 tensor of one element (opset 13). Used to measure the
// fixed cost of one call through an engine's API, with no real work behind it.
//   node benchmarks/tiny_onnx.js OUT.onnx
// A hand-rolled protobuf encoder (a few fields of onnx.proto) so nothing beyond Node itself is needed.
'use strict';
const fs = require('fs');

function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const key = (field, wire) => varint((field << 3) | wire);
const int = (field, n) => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field, buf) => Buffer.concat([key(field, 2), varint(buf.length), buf]);
const str = (field, s) => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field, ...parts) => bytes(field, Buffer.concat(parts));

// ValueInfoProto { name, type: TypeProto { tensor_type { elem_type: FLOAT, shape { dim { dim_value: 1 } } } } }
const valueInfo = (field, name) =>
  msg(field, str(1, name), msg(2, msg(1, int(1, 1), msg(2, msg(1, int(1, 1))))));

function tinyAddModel() {
  const node = msg(1, str(1, 'x'), str(1, 'x'), str(2, 'y'), str(3, 'add'), str(4, 'Add'));
  const graph = msg(7, node, str(2, 'tiny_add'), valueInfo(11, 'x'), valueInfo(12, 'y'));
  return Buffer.concat([int(1, 8), str(2, 'hone-benchmarks'), graph, msg(8, str(1, ''), int(2, 13))]);
}

if (require.main === module) {
  if (process.argv.length !== 3) {
    console.error('usage: node tiny_onnx.js OUT.onnx');
    process.exit(2);
  }
  fs.writeFileSync(process.argv[2], tinyAddModel());
}
module.exports = { tinyAddModel };
