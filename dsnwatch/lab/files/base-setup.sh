#!/bin/sh
# Runs inside the new root file system of the lab's base image (chroot or RUN).
set -e
# mailcow's vmail user and group.
getent group vmail >/dev/null || groupadd -g 5000 vmail
getent passwd vmail >/dev/null || useradd -u 5000 -g 5000 -d /var/vmail -M -s /usr/sbin/nologin vmail
# Names resolve from /etc/hosts only: a .invalid domain fails at once, with no DNS server.
sed -i 's/^hosts:.*/hosts:          files/' /etc/nsswitch.conf
mkdir -p /opt/postfix/conf /var/vmail /etc/ssl/mail /hooks
# Postfix commands given "-c /opt/postfix/conf" by a non-root caller need this.
postconf -e 'alternate_config_directories = /opt/postfix/conf' 'myhostname = localhost' 'mydestination = localhost'
echo localhost > /etc/mailname
# Nothing is started at build time, and the image stays small.
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
    /usr/share/info/* /usr/share/locale/*
