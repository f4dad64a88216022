    # the broker credentials' key (32 random bytes, hex), shared by the database server
    # (quant.credential_key_file) and quant-worker (systemd LoadCredential=); made once, kept
    if [ ! -s /etc/quant/credential.key ]; then
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >/etc/quant/credential.key &&
            echo >>/etc/quant/credential.key)
    fi
    if getent group postgres >/dev/null; then
        chown root:postgres /etc/quant/credential.key
        chmod 0640 /etc/quant/credential.key
    fi
