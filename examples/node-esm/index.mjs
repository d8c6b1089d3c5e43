// A Node.js function as an ES module, with an async handler.
//
//   cd examples/node-esm && zip -q ../node.zip index.mjs
//   mkdir MNT/functions/node && cp ../node.zip MNT/functions/node/code.zip
//   echo '{"n": 41}' > MNT/functions/node/invoke && cat MNT/functions/node/invoke
export const handler = async (event, context) => {
  console.log("event", JSON.stringify(event));
  if (event.fail) throw new TypeError("asked to fail");
  return {
    answer: (event.n ?? 0) + 1,
    requestId: context.awsRequestId,
    remaining: context.getRemainingTimeInMillis() > 0,
  };
};
