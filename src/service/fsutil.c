/* Files and ports: a database's directory, removing it, and whether a port
 * is free to give to a new redis-server. */
#include "service/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char *service_db_dir(const struct rk_service *svc, int64_t db_id)
{
    return xasprintf("%s/%lld", svc->db_root, (long long)db_id);
}

char *rk_service_db_dir(struct rk_service *svc, int64_t db_id)
{
    return service_db_dir(svc, db_id);
}

/* Removes what parent/name is; does not follow symbolic links. */
static int remove_at(int parent, const char *name, const char *shown, int depth, struct rk_err *err)
{
    if (depth > 64) return rk_err_set(err, "%s: directories nested too deep to remove", shown);
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return 0;
        return rk_err_set(err, "%s: %s", shown, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return rk_err_set(err, "%s: cannot remove: %s", shown, strerror(errno));
        return 0;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return rk_err_set(err, "%s: cannot open: %s", shown, strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return rk_err_set(err, "%s: cannot list: %s", shown, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *child = xasprintf("%s/%s", shown, e->d_name);
        rc = remove_at(dirfd(d), e->d_name, child, depth + 1, err);
        free(child);
    }
    closedir(d);
    if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = rk_err_set(err, "%s: cannot remove: %s", shown, strerror(errno));
    return rc;
}

int remove_tree(const char *path, struct rk_err *err)
{
    return remove_at(AT_FDCWD, path, path, 0, err);
}

int port_bindable(const char *host, unsigned port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0) return 0;
    int ok = 0;
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ok = bind(fd, res->ai_addr, res->ai_addrlen) == 0;
        close(fd);
    }
    freeaddrinfo(res);
    return ok;
}
