{
  "targets": [
    {
      "target_name": "netlink_socket",
      "sources": ["native/netlink_socket.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]
    }
  ]
}
