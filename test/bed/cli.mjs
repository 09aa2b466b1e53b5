// `npm run bed:up` / `npm run bed:down` / `node test/bed/cli.mjs env` — drive the test bed by hand.
import { down, readState, up } from './bed.mjs'

const command = process.argv[2] ?? 'up'
if (command === 'up') {
  const state = await up()
  console.log(
    `export KUBECONFIG=${state.kubeconfig} DOCKER_HOST=${state.dockerHost} DOCKER_CONFIG=${state.dockerConfig}`
  )
} else if (command === 'down') {
  await down()
} else if (command === 'env') {
  const state = await readState()
  if (!state) {
    console.error('no bed is running; npm run bed:up')
    process.exit(1)
  }
  console.log(
    `export KUBECONFIG=${state.kubeconfig} DOCKER_HOST=${state.dockerHost} DOCKER_CONFIG=${state.dockerConfig}`
  )
} else {
  console.error('usage: node test/bed/cli.mjs up|down|env')
  process.exit(2)
}
