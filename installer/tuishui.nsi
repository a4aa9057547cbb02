; 出口退税客户端 — NSIS installer (Unicode; Simplified Chinese + English).
; Per-user install without admin rights by default; an all-users install when elevated.
; Upgrading installs over the previous version in place: settings, credentials (Windows
; Credential Manager) and downloaded files live in the user's data folder, never here.
;
; makensis -DVERSION=0.1.0 -DSRCDIR=..\dist\tuishui -DOUTFILE=..\dist\tuishui-setup.exe tuishui.nsi

Unicode true
SetCompressor /SOLID lzma

!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef SRCDIR
  !define SRCDIR "..\dist\tuishui"
!endif
!ifndef OUTFILE
  !define OUTFILE "..\dist\tuishui-setup-${VERSION}.exe"
!endif

!define APPNAME "出口退税客户端"
!define APPNAME_EN "Tuishui"
!define EXE "tuishui.exe"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APPNAME_EN}"
!define DATA_DIR_NAME "tuishui"

!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_INSTALLMODE_DEFAULT_CURRENTUSER
!define MULTIUSER_INSTALLMODE_INSTDIR "${APPNAME_EN}"
!define MULTIUSER_INSTALLMODE_INSTALL_REGISTRY_KEY "Software\${APPNAME_EN}"
!define MULTIUSER_INSTALLMODE_INSTALL_REGISTRY_VALUENAME "InstallDir"
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_USE_PROGRAMFILES64

!include "MultiUser.nsh"
!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "WinVer.nsh"
!include "FileFunc.nsh"

Name "${APPNAME} ${VERSION}"
OutFile "${OUTFILE}"
BrandingText "${APPNAME} ${VERSION}"
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=2052 "ProductName" "${APPNAME}"
VIAddVersionKey /LANG=2052 "FileDescription" "${APPNAME} 安装程序"
VIAddVersionKey /LANG=2052 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=2052 "LegalCopyright" "${APPNAME}"

!define MUI_ICON "..\resources\app.ico"
!define MUI_UNICON "..\resources\app.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${EXE}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "SimpChinese"
!insertmacro MUI_LANGUAGE "English"

LangString MsgNeedWin10 2052 "本程序需要 Windows 10 或更高版本。"
LangString MsgNeedWin10 1033 "This program needs Windows 10 or later."
LangString MsgRunning 2052 "出口退税客户端正在运行，请先退出程序（包括托盘图标）再继续。"
LangString MsgRunning 1033 "The client is running. Please quit it (including the tray icon) and try again."
LangString SecUserData 2052 "删除我的申报数据、反馈文件和设置"
LangString SecUserData 1033 "Delete my declarations, feedback files and settings"
LangString ShortcutName 2052 "出口退税客户端"
LangString ShortcutName 1033 "Export Tax Rebate Client"

Function .onInit
  ${IfNot} ${AtLeastWin10}
    MessageBox MB_ICONSTOP "$(MsgNeedWin10)"
    Abort
  ${EndIf}
  !insertmacro MULTIUSER_INIT
  !insertmacro MUI_LANGDLL_DISPLAY
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

; A running client (or the bundled platform it started, the same executable) keeps its
; files locked: Windows refuses to open a running executable for writing, which tells us.
!macro CheckRunning
  ${If} ${FileExists} "$INSTDIR\${EXE}"
    retry:
    ClearErrors
    FileOpen $0 "$INSTDIR\${EXE}" a
    ${If} ${Errors}
      MessageBox MB_ICONEXCLAMATION|MB_RETRYCANCEL "$(MsgRunning)" IDRETRY retry
      Abort
    ${EndIf}
    FileClose $0
  ${EndIf}
!macroend

Section "!${APPNAME}" SecMain
  SectionIn RO
  !insertmacro CheckRunning
  SetOutPath "$INSTDIR"
  ; An upgrade replaces the program files only; user data lives in %LOCALAPPDATA%\${DATA_DIR_NAME}.
  RMDir /r "$INSTDIR\_internal"
  File /r "${SRCDIR}\*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\${APPNAME}"
  CreateShortCut "$SMPROGRAMS\${APPNAME}\$(ShortcutName).lnk" "$INSTDIR\${EXE}"
  CreateShortCut "$DESKTOP\$(ShortcutName).lnk" "$INSTDIR\${EXE}"

  WriteRegStr SHCTX "Software\${APPNAME_EN}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APPNAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${EXE}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${APPNAME}"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "un.${APPNAME}" UnSecMain
  SectionIn RO
  !insertmacro CheckRunning
  Delete "$DESKTOP\$(ShortcutName).lnk"
  RMDir /r "$SMPROGRAMS\${APPNAME}"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey SHCTX "${UNINST_KEY}"
  DeleteRegKey SHCTX "Software\${APPNAME_EN}"
SectionEnd

; Unchecked by default: uninstalling keeps the user's data unless they ask.
; The data belongs to the user running the uninstaller, also after an all-users install.
Section /o "un.$(SecUserData)" UnSecData
  SetShellVarContext current
  RMDir /r "$LOCALAPPDATA\${DATA_DIR_NAME}"
SectionEnd
