# Installing like a real tool: man pages from docs/commands/*.md, shell
# completion, and a Debian package of it all (`make package`, cmake's
# `package` target; docs/install.md). Included by the top CMakeLists.txt,
# after the envflow target and its install rules.

# `package` and `install` do not build first: `make package` and `make
# install` build before them, and a cpack run by the end-to-end suite
# (test_package) must not rebuild targets that other suites are running.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# --- Man pages ----------------------------------------------------------------
# docs/commands/README.md becomes envflow(1), NAME.md envflow-NAME(1), rendered
# by go-md2man (Debian's go-md2man; packaging/man-page.sh adds NAME, SYNOPSIS
# and SEE ALSO). git-envflow(1) points at envflow(1), so `git envflow --help`
# and `git help envflow` (which run `man git-envflow`) show it. Without
# go-md2man the build goes on without man pages: a packager's choice.
find_program(ENVFLOW_GO_MD2MAN go-md2man)
option(ENVFLOW_MAN "Build the man pages (needs go-md2man)" ON)
set(ENVFLOW_MAN_DIR ${CMAKE_BINARY_DIR}/man/man1)
if(ENVFLOW_MAN AND ENVFLOW_GO_MD2MAN)
  file(GLOB ENVFLOW_COMMAND_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/commands/*.md)
  set(ENVFLOW_MAN_PAGES)
  foreach(doc IN LISTS ENVFLOW_COMMAND_DOCS)
    get_filename_component(base ${doc} NAME_WE)
    if(base STREQUAL "README")
      set(page ${ENVFLOW_MAN_DIR}/envflow.1.gz)
    else()
      set(page ${ENVFLOW_MAN_DIR}/envflow-${base}.1.gz)
    endif()
    # Each page takes its NAME line from the index (README.md): it depends on it.
    add_custom_command(
      OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${ENVFLOW_MAN_DIR}
      COMMAND ${CMAKE_COMMAND} -E env GO_MD2MAN=${ENVFLOW_GO_MD2MAN}
              bash ${CMAKE_SOURCE_DIR}/packaging/man-page.sh ${doc} ${page} ${PROJECT_VERSION}
      DEPENDS ${doc} ${CMAKE_SOURCE_DIR}/docs/commands/README.md
              ${CMAKE_SOURCE_DIR}/packaging/man-page.sh
      COMMENT "Man page ${base}"
      VERBATIM)
    list(APPEND ENVFLOW_MAN_PAGES ${page})
  endforeach()
  # git-envflow(1) is envflow(1) under git's name (a link, as debhelper makes of
  # a .so page), for `git help envflow` and `git envflow --help`.
  set(git_page ${ENVFLOW_MAN_DIR}/git-envflow.1.gz)
  add_custom_command(
    OUTPUT ${git_page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${ENVFLOW_MAN_DIR}
    COMMAND ${CMAKE_COMMAND} -E create_symlink envflow.1.gz ${git_page}
    COMMENT "Man page git-envflow"
    VERBATIM)
  list(APPEND ENVFLOW_MAN_PAGES ${git_page})
  add_custom_target(man ALL DEPENDS ${ENVFLOW_MAN_PAGES})
  install(FILES ${ENVFLOW_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  message(STATUS "Man pages: built with ${ENVFLOW_GO_MD2MAN}")
elseif(ENVFLOW_MAN)
  message(STATUS "Man pages: go-md2man not found, building without them "
                 "(apt-get install go-md2man, then run cmake again)")
else()
  message(STATUS "Man pages: off (ENVFLOW_MAN=OFF)")
endif()

# --- Shell completion ---------------------------------------------------------
# Where Debian's bash-completion and zsh look. bash loads a command's file when
# it is first completed; git's completion loads git-envflow's (a link to the
# same file) for `git envflow <TAB>`.
set(ENVFLOW_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    CACHE STRING "Where the bash completion goes (relative: under the prefix)")
set(ENVFLOW_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
    CACHE STRING "Where the zsh completion goes (relative: under the prefix)")
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/completion)
file(CREATE_LINK envflow ${CMAKE_BINARY_DIR}/completion/git-envflow SYMBOLIC)
install(FILES ${CMAKE_SOURCE_DIR}/completion/envflow.bash
        DESTINATION ${ENVFLOW_BASH_COMPLETION_DIR} RENAME envflow)
install(FILES ${CMAKE_BINARY_DIR}/completion/git-envflow DESTINATION ${ENVFLOW_BASH_COMPLETION_DIR})
install(FILES ${CMAKE_SOURCE_DIR}/completion/_envflow ${CMAKE_SOURCE_DIR}/completion/_git-envflow
        DESTINATION ${ENVFLOW_ZSH_COMPLETION_DIR})

# --- Debian package -----------------------------------------------------------
# `make package` / `cmake --build BUILD --target package`: envflow_VERSION_ARCH.deb
# in the build directory, installing under /usr. Depends: the shared libraries
# the binary links (dpkg-shlibdeps) and git, which envflow runs.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME envflow)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "envflow")
set(CPACK_PACKAGE_CONTACT "envflow maintainers <maintainers@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "content-as-code release pipeline on plain git")
set(CPACK_PACKAGE_DESCRIPTION
    "envflow promotes content through environments (dev, test, uat, prod) that are\n"
    "plain git branches, by fast-forward, after validation, approvals and checks,\n"
    "publishes signed releases and keeps an audit trail in the repository. It\n"
    "ships man pages, bash and zsh completion, git hooks and `git envflow`.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION vcs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "git")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion, man-db")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "gnupg, openssh-client, pre-commit")
# Only what `install` puts in the package (no test or fuzz binaries).
set(CPACK_STRIP_FILES ON)
include(CPack)
