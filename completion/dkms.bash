# bash completion for dkms (dkms-ts)
_dkms_tree() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
    case ${COMP_WORDS[i]} in
      --dkmstree=*) echo "${COMP_WORDS[i]#*=}"; return ;;
      --dkmstree) echo "${COMP_WORDS[i + 1]}"; return ;;
    esac
  done
  echo /var/lib/dkms
}

# MODULE/VERSION of every module in the dkms tree.
_dkms_modules() {
  local tree m v
  tree=$(_dkms_tree)
  for m in "$tree"/*/; do
    m=${m%/}; m=${m##*/}
    for v in "$tree/$m"/*/; do
      v=${v%/}; v=${v##*/}
      [[ $v == kernel-* || $v == original_module || $v == '*' ]] || echo "$m/$v"
    done
  done
}

_dkms() {
  local cur prev actions options
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  actions="add build install uninstall unbuild remove status match autoinstall mktarball
    ldtarball generate_mok kernel_preinst kernel_postinst kernel_prerm doctor sign readiness
    mkdeb mkbmdeb mkdsc mkrpm mkkmp mkdriverdisk"
  options="-m -v -k -a -c -j -q -V -h --all --force --force-version-override --verbose --json
    --templatekernel= --directive= --config= --archive= --kernelsourcedir= --dkmstree
    --sourcetree --installtree --confdir --no-depmod --modprobe-on-install --binaries-only
    --source-only --rpm_safe_upgrade --symlink-modules --dry-run --fix --policy --help --version"
  case $prev in
    -m)
      COMPREPLY=($(compgen -W "$(_dkms_modules)" -- "$cur"))
      return ;;
    -k | --templatekernel)
      COMPREPLY=($(compgen -W "$(ls /lib/modules 2>/dev/null)" -- "$cur"))
      return ;;
    -c | --archive | --config | --kernelsourcedir | --dkmstree | --sourcetree | --installtree | --confdir)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else
    local w action=
    for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
      [[ " $actions " == *" $w "* ]] && action=$w
    done
    case $action in
      '') COMPREPLY=($(compgen -W "$actions" -- "$cur")) ;;
      add | ldtarball) COMPREPLY=($(compgen -f -- "$cur")) ;;
      # the other actions take MODULE/VERSION from the dkms tree
      *) COMPREPLY=($(compgen -W "$(_dkms_modules)" -- "$cur")) ;;
    esac
  fi
}
complete -F _dkms dkms
