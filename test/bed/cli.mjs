// `npm run bed:up` / `npm run bed:down` / `node test/bed/cli.mjs env` — drive the test bed by hand.
// `node test/bed/cli.mjs kill|restart|freeze|thaw <component>` — inject a fault (component: apiserver, etcd, registry,
// dockerd, kwok, controller-manager, scheduler, controller; the second cluster's: apiserver-2, controller-manager-2,
// scheduler-2, kwok-2, controller-2).
// `node test/bed/cli.mjs second` — start a second control plane beside the running bed (contexts bed-1 and bed-2).
import { down, freeze, kill, readState, restart, startSecondCluster, thaw, up } from './bed.mjs'

const command = process.argv[2] ?? 'up'
if (command === 'up') {
  const state = await up()
  console.log(
    `export KUBECONFIG=${state.kubeconfig} DOCKER_HOST=${state.dockerHost} DOCKER_CONFIG=${state.dockerConfig}`
  )
} else if (command === 'second') {
  const second = await startSecondCluster()
  console.log(`export KUBECONFIG=${second.kubeconfigBoth} # contexts: ${second.contexts.join(', ')}`)
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
} else if (['kill', 'restart', 'freeze', 'thaw'].includes(command) && process.argv[3]) {
  await { kill, restart, freeze, thaw }[command](process.argv[3])
} else {
  console.error(
    'usage: node test/bed/cli.mjs up|second|down|env|kill <component>|restart <component>|freeze <component>|thaw <component>'
  )
  process.exit(2)
}
