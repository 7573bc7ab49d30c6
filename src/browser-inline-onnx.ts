// The entry of dist/convcore.onnx.browser.js: the self-contained bundle of
// dist/convcore.browser.js with convcore/onnx's toOnnx in it (and so protobuf), for a page
// that exports its models, such as the training page. The main bundle does without it.
export * from './browser-inline.js';
export { toOnnx, ONNX_OPSET } from './onnx.js';
