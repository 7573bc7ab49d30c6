/**
 * `convcore/onnx`: a model as an ONNX graph of standard operators (opset 17), in float32
 * (onnxruntime's Conv and pooling kernels are float32 only), with input `x` and output
 * `scores` and a dynamic batch dimension `N`. The protobuf encoding is the ONNX schema's, as
 * the onnx-proto package generates it with protobufjs; this subpath is apart from the main
 * entry, so that the main bundle does not carry protobuf.
 */
import pkg from 'onnx-proto';
import { fail } from './errors.js';
import { take } from './wasm.js';
import type { Layer, OnnxAttr, OnnxGraph } from './layers/layer.js';
import { netOf } from './nn/net.js';
import { storeOf } from './nn/params.js';

const { onnx } = pkg;
type INode = ReturnType<typeof onnx.NodeProto.create>;
type ITensor = ReturnType<typeof onnx.TensorProto.create>;

/** The opset the graph is written for: LayerNormalization is in the default domain from 17. */
export const ONNX_OPSET = 17;

class Graph implements OnnxGraph {
  readonly nodes: INode[] = [];
  readonly inits: ITensor[] = [];
  private n = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.n++}`;
  }

  constant(hint: string, dims: readonly number[], values: ArrayLike<number>): string {
    const name = this.fresh(hint);
    this.inits.push(onnx.TensorProto.create({ name, dims: dims.slice(), dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(values, Math.fround) }));
    return name;
  }

  ints(hint: string, values: readonly number[]): string {
    const name = this.fresh(hint);
    this.inits.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values.slice() }));
    return name;
  }

  node(op: string, inputs: readonly string[], attrs: Record<string, OnnxAttr> = {}): string {
    const output = this.fresh(op.toLowerCase());
    const attribute = Object.entries(attrs).map(([name, a]) => {
      if ('ints' in a) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints.slice() };
      if ('f' in a) return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.f };
      return { name, type: onnx.AttributeProto.AttributeType.INT, i: a.i };
    });
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs.slice(), output: [output], name: output, attribute }));
    return output;
  }
}

function valueInfo(name: string, dims: (number | string)[]): ReturnType<typeof onnx.ValueInfoProto.create> {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  });
}

/**
 * The model (a Sequential, ThreeLayerConvNet or FullyConnectedNet) as the bytes of an ONNX
 * model: its test-mode forward (dropout is the identity, batchnorm uses its running
 * statistics), x (N, ...inputShape) -> scores (N, numClasses), float32.
 */
export function toOnnx(model: unknown): Uint8Array {
  const fn = 'toOnnx';
  const net = netOf(model);
  if (!net) fail(`${fn}: model must be a Sequential, a ThreeLayerConvNet or a FullyConnectedNet`);
  storeOf(model as object);
  const paths = new Map<Layer, string>(net.placed.map((p) => [p.layer, p.path]));
  const g = new Graph();
  const value = (layer: Layer) => (local: string): Float64Array => {
    const name = net.nameOf(paths.get(layer)!, local);
    const decl = [...layer.params, ...layer.buffers].find((d) => d.name === local)!;
    const n = decl.shape.reduce((p, d) => p * d, 1);
    const isBuffer = layer.buffers.some((d) => d.name === local);
    return take(isBuffer ? net.buffer(name) : net.store.get(name).ptr, n);
  };
  const list = (layers: readonly Layer[], x: string): string =>
    layers.reduce((input, l) => l.onnx(g, input, value(l), list), x);
  const out = list(net.layers, 'x');
  g.nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [out], output: ['scores'], name: 'scores' }));
  const inShape = net.layers[0].inShape;
  const m = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'convcore',
    graph: {
      name: 'convcore', node: g.nodes, initializer: g.inits,
      input: [valueInfo('x', ['N', ...inShape])], output: [valueInfo('scores', ['N', net.numClasses])],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}
