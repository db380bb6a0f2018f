// The signing library's public face (built also as its own entry, assets/signing-<hash>.js,
// which the vectors test imports in the browser): the phone protocol of docs/signing.md
// over WebCrypto, this browser's key ring, and the hub's key routes.
export * from "./bytes";
export * from "./crypto";
export * from "./der";
export * from "./envelope";
export * from "./protocol";
export * from "./ring";
export * from "./transcript";
export * as hub from "./hub";
export { canSign, domainOf, KeyNeeded, submitCommand } from "./send";
