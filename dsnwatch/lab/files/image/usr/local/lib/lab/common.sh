# Shared start-up steps of the lab containers (sourced by the entrypoints).

# The container's short id, as mailcow's syslog-ng shows it in the HOST field.
# With the host network the UTS hostname is the host's, so read the id from the
# bind mount of /etc/hostname instead.
lab_container_id() {
    local cid
    cid=$(sed -n 's#.*/containers/\([0-9a-f]\{64\}\)/hostname .*#\1#p' /proc/self/mountinfo | head -n 1)
    if [ -n "$cid" ]; then echo "${cid:0:12}"; else hostname; fi
}

# syslog-ng writes every line to the container's standard output in mailcow's
# format: "Mon DD HH:MM:SS <container id> program[pid]: message".
lab_start_syslog() {
    local kind=$1 cid dest=pipe
    cid=$(lab_container_id)
    # pipe() refuses a terminal: a container with a TTY (dovecot, as in mailcow) needs file().
    [ -t 1 ] && dest=file
    sed -e "s/@CID@/${cid}/" -e "s/@SOURCE@/${kind}/" -e "s/@DEST@/${dest}/" \
        /usr/local/lib/lab/syslog-ng.conf \
        > /etc/syslog-ng/syslog-ng.conf
    rm -f /dev/log
    syslog-ng --no-caps -F -f /etc/syslog-ng/syslog-ng.conf &
    for _ in $(seq 1 100); do
        [ -S /dev/log ] && return 0
        sleep 0.05
    done
    echo "syslog-ng did not create /dev/log" >&2
    return 1
}
