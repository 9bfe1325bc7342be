// The guest's boot scripts. Stage 1 (/init in the initramfs) loads the modules, builds the root
// (the host's / over virtio-9p, read-only, under a tmpfs overlay so the guest can write and
// everything is thrown away), mounts the shared directory read-write at its host path, and
// chroots. Stage 2 runs as pid 1 inside that root: it runs the command with its output on
// virtio-serial ports backed by host files, reports the exit code, and powers off.

/** 9p mount tags, shared with the qemu command line. */
export const HOST_ROOT_TAG = 'hostroot';
export const SHARED_DIR_TAG = 'shared';
/** virtio-serial port names, shared with the qemu command line. */
export const PORT_STDOUT = 'stdout';
export const PORT_STDERR = 'stderr';
export const PORT_STATUS = 'status';

/** Where stage 1 leaves busybox and the stage 2 scripts inside the guest's root. */
export const GUEST_RUN_DIR = '/run/svcplane-vm';

const NINEP_OPTIONS = 'trans=virtio,version=9p2000.L,msize=262144';

// `mount --move` + chroot instead of switch_root, which spends seconds under TCG wiping the
// initramfs. Pid 1 itself chroots: kernel threads share its fs_struct, so modules the kernel
// requests later are found by the guest's modprobe under the host's /lib/modules.
export const STAGE1_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
fail() { echo "svcplane-vm: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mark() { echo "svcplane-vm: $1 at $(cut -d' ' -f1 /proc/uptime) s"; }
mark "loading modules"
while read -r ko params; do
  insmod "/modules/$ko" $params || echo "svcplane-vm: insmod $ko failed"
done < /modules/load-order

mark "mounting the root"
mount -t 9p -o ro,${NINEP_OPTIONS},cache=loose ${HOST_ROOT_TAG} /mnt/host || fail "cannot mount the host root"
mount -t tmpfs -o mode=0755 overlay-rw /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot \\
  || fail "cannot mount the overlay root"

cd /newroot
mount -t proc proc proc
mount -t sysfs sysfs sys
mount -t devtmpfs devtmpfs dev
mkdir -p dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts dev/pts
mount -t tmpfs -o mode=1777 tmpfs dev/shm
mount -t tmpfs -o mode=1777 tmpfs tmp
mount -t tmpfs -o mode=0755 tmpfs run
mount -t cgroup2 cgroup2 sys/fs/cgroup
[ -d sys/fs/bpf ] && mount -t bpf bpf sys/fs/bpf
shared=$(cat /svcplane/shared-dir)
mkdir -p "./$shared"
mount -t 9p -o ${NINEP_OPTIONS},cache=loose ${SHARED_DIR_TAG} "./$shared" || fail "cannot mount $shared"
mkdir -p .${GUEST_RUN_DIR}
cp /bin/busybox /svcplane/* .${GUEST_RUN_DIR}/

mark "entering the root"
umount /proc /sys /dev
mount --move . /
exec chroot . ${GUEST_RUN_DIR}/busybox sh ${GUEST_RUN_DIR}/stage2.sh
`;

export const STAGE2 = `B=${GUEST_RUN_DIR}/busybox
port() {
  for d in /sys/class/virtio-ports/*; do
    [ "$($B cat "$d/name")" = "$1" ] && echo "/dev/\${d##*/}"
  done
}
exec 9>"$(port ${PORT_STATUS})"
$B hostname svcplane-vm
$B ip link set lo up
echo "svcplane-vm: running the command at $($B cut -d' ' -f1 /proc/uptime) s" >/dev/console
echo start >&9
( . ${GUEST_RUN_DIR}/command.sh ) >"$(port ${PORT_STDOUT})" 2>"$(port ${PORT_STDERR})" </dev/null
echo "exit $?" >&9
echo "svcplane-vm: command done at $($B cut -d' ' -f1 /proc/uptime) s" >/dev/console
$B sync
$B poweroff -f
`;

/** A POSIX shell word for `value`: single-quoted, so nothing in it is interpreted. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The per-run script stage 2 sources: the command, in its directory, with exactly `env`. */
export function commandScript(command: readonly string[], cwd: string, env: Readonly<Record<string, string>>): string {
  const assignments = Object.entries(env).map(([name, value]) => shellQuote(`${name}=${value}`));
  return [
    `cd ${shellQuote(cwd)} || exit 125`,
    // The host's env, not busybox's: busybox-static runs its own applets ahead of PATH.
    `exec /usr/bin/env -i ${[...assignments, ...command.map(shellQuote)].join(' ')}`,
    '',
  ].join('\n');
}
