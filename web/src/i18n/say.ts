// Messages of the cabin's say box (natural-language requests to the home).
export const en = {
  "say.title": "Ask your home",
  "say.label": "Request",
  "say.placeholder": "e.g. “turn on the living room light”, “how much charge is left?”",
  "say.send": "Send",
  "say.listen": "Speak",
  "say.listening": "Listening…",
  "say.thinking": "Thinking…",
  "say.failed": "Could not ask the hub: {reason}",
  "say.signed": "Signed with this browser's key and sent: {target}.",
};

export const zh: Record<keyof typeof en, string> = {
  "say.title": "对家里说",
  "say.label": "请求",
  "say.placeholder": "例如“打开客厅的灯”、“车还有多少电”",
  "say.send": "发送",
  "say.signed": "已用本浏览器的密钥签名并发送：{target}。",
  "say.listen": "语音",
  "say.listening": "正在听…",
  "say.thinking": "正在处理…",
  "say.failed": "无法询问中枢：{reason}",
};
